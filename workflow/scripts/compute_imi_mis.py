"""Snakemake adapter: task margins and MIS of the IMI units from the images humans saw."""

from mis.runlog import log_to
from mis.settings import ScoringSettings
from mis.stages.imi import compute_imi_mis

log_to(snakemake.log[0])
params = snakemake.params
compute_imi_mis(
    files_path=snakemake.input.files,
    human_trials_path=snakemake.input.human,
    trials_from=params.trials_from,
    conditions=params.conditions,
    imagenet_train=params.imagenet_train,
    stimuli_dir=params.stimuli_dir,
    pattern=params.pattern,
    scoring=ScoringSettings.from_params({"similarity": params.similarity, "alpha": params.alpha}, params.run),
    device=params.run["device"],
    threads=params.run["threads"],
    outputs=dict(snakemake.output.items()),
)
