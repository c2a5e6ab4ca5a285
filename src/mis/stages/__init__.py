"""The stages of the pipeline: one module per family of rules (workflow/rules/*.smk), each
function a rule's work from its input files to its output files, which the rule's script
(workflow/scripts/<rule>.py) calls with the rule's params. Everything else in ``mis`` is a library
these call (``activations``, ``tasks``, ``scoring``, ``formula``, ``images``, ``similarity``, …)
or draws (``mis.figures``).

- ``images``: prepare_images
- ``activations``: extract_activations (torch)
- ``tasks``: sample_tasks
- ``embeddings``: embed_images (torch only where an image must be embedded)
- ``scores``: compute_mis (torch only for pairwise backends), summarize_models
- ``analysis``: the tables behind the figures (analyze_*, select_example_units)
- ``training``: train_model (torch)
- ``sae``: sample_sae_vectors, train_sae, evaluate_saes (torch)
- ``imi``: download_imi, score_human_responses, compute_imi_mis (torch), fit_alpha,
  compare_similarities, find_overestimated_units, join_imi_units, select_extreme_units
- ``experiment``: select_study_units, assign_study_trials, build_experiment (torch, for the
  stimuli), merge_experiment_responses, score_experiment_responses, analyze_fig2c
- ``browser``: build_unit_browser (torch, for the thumbnails)

Modules without torch stay without it: a job imports only what its own stage needs.
"""
