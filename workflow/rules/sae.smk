# Sparse autoencoders (the paper's appendix), and any learned basis: SAEs trained on one layer of a
# configured model (a sweep of kinds, sizes and sparsity weights), and the user's own dictionary
# files, are evaluated in one pass (L0, dead latents, FVU, model fidelity) and scored as the units
# of the model <model>-sae by extract_activations, sample_tasks and compute_mis like any other
# (SAE, SAE_MODEL_SPECS and SAE_DICTIONARIES come from common.smk). Without an `sae` block in the
# config these rules are not defined and not part of `all`.

if SAE:
    SAE_MODEL_SPEC = MODEL_SPECS[SAE.model]

    if SAE.trained:

        rule sample_sae_vectors:
            """A seeded uniform sample of the layer's position vectors over the image set, one pass."""
            input:
                manifest=rules.prepare_images.output.manifest,
            output:
                vectors=paths.SAE_VECTORS.format(model=SAE.model),
            log:
                paths.log("sample_sae_vectors", SAE.model),
            conda:
                "../../envs/torch.yaml"
            threads: SETTINGS.threads.inference
            resources:
                mem_mb=per_attempt(16000),
                runtime=per_attempt(480),
                gpu=GPUS,
            params:
                model_spec=SAE_MODEL_SPEC,
                assets=[
                    declare_weights(f"models.{SAE.model}.weights", SAE_MODEL_SPEC),
                    declare_layer("sae.layer", SAE_MODEL_SPEC, SAE.layer),
                ],
                layer=SAE.layer,
                n_vectors=SAE.n_vectors,
                seed=SETTINGS.seed,
                images_root=IMAGES_ROOT,
                decoder=SETTINGS.extraction.decoder,
                run=job_run(SETTINGS.extraction),
            script:
                "../scripts/sample_sae_vectors.py"

        rule train_sae:
            """One SAE of the sweep on the sampled vectors, seeded, with a log line per epoch."""
            input:
                vectors=rules.sample_sae_vectors.output.vectors,
            output:
                dictionary=paths.SAE_DICTIONARY,
            log:
                paths.log("train_sae", "{model}", "{dictionary}"),
            wildcard_constraints:
                model=re.escape(SAE.model),
                dictionary="|".join(re.escape(sae.name) for sae in SAE.trained),
            conda:
                "../../envs/torch.yaml"
            threads: SETTINGS.threads.training
            resources:
                mem_mb=per_attempt(8000),
                runtime=per_attempt(120),
                gpu=GPUS,
            params:
                settings=lambda wc: SAE.sae(wc.dictionary).params(),
                threads=SETTINGS.threads.training,  # exactly, even above --cores: part of the result
                layer=SAE.layer,
                run=job_run(),
            script:
                "../scripts/train_sae.py"

    rule evaluate_saes:
        """L0, dead latents, unexplained variance and model fidelity (top-1 agreement, KL with the
        layer replaced by the reconstruction) of every dictionary of the layer, in one pass."""
        input:
            manifest=rules.prepare_images.output.manifest,
            dictionaries=trained_dictionaries(SAE.scored_model),
        output:
            metrics=paths.SAE_METRICS.format(model=SAE.model),
        log:
            paths.log("evaluate_saes", SAE.model),
        conda:
            "../../envs/torch.yaml"
        threads: SETTINGS.threads.inference
        resources:
            mem_mb=per_attempt(16000),
            runtime=per_attempt(480),
            gpu=GPUS,
        params:
            model_spec=SAE_MODEL_SPEC,
            assets=model_assets(SAE.scored_model),
            layer=SAE.layer,
            dictionaries=SAE_DICTIONARIES[SAE.scored_model],
            evaluate_every=SAE.evaluate_every,
            images_root=IMAGES_ROOT,
            decoder=SETTINGS.extraction.decoder,
            run=job_run(SETTINGS.extraction),
        script:
            "../scripts/evaluate_saes.py"

    localrules:
        analyze_sae,

    rule analyze_sae:
        """The SAE table (per dictionary: sparsity weight, L0, dead latents, FVU, fidelity, mean MIS
        of its latents, and the layer's channels' mean MIS) and the per-unit MIS of the channels and
        latents."""
        input:
            units=expand(rules.compute_mis.output.units, model=SAE.scored_model),
            metrics=rules.evaluate_saes.output.metrics,
        output:
            table=report(paths.analysis("sae"), category="Tables", caption="../report/sae_table.rst"),
            unit_mis=paths.analysis("sae_mis"),
        log:
            paths.log("analyze_sae"),
        conda:
            "../../envs/analysis.yaml"
        params:
            trained={sae.name: sae.params() for sae in SAE.trained},
            layer=SAE.layer,
        script:
            "../scripts/analyze_sae.py"
