# Validation against the IMI human data (method.md §3–4, Fig. 2, appendix): only with an `imi` config block.
#
# download_imi ─> score_human_responses ─┐
#             └──────────────────────────┴─> compute_imi_mis (per backend) ─> fit_alpha (per backend)
#   fit_alpha (every backend) ─> compare_similarities;  fit_alpha + compute_imi_mis ─> find_overestimated_units
#   compute_imi_mis + compute_mis (per model) ─> join_imi_units;  compute_mis ─> select_extreme_units
# Their figures (Fig. 2 and the appendix's) are drawn in figures.smk.

if IMI:
    from mis.imi.release import FILE_MAP, RESPONSES

    # The main similarity backend and the ones only compared (appendix), by name.
    IMI_BACKENDS = IMI.backends
    IMI_NEEDED = [RESPONSES.format(table=IMI.response_table)] + (
        [FILE_MAP] if IMI.trials_from == "file_map" or not IMI.stimuli_dir else []
    )
    IMI_RELEASE = declare_imi(IMI.data_dir, IMI_NEEDED, IMI.doi)
    # The images humans saw: ImageNet-train (trials from the file map), the user's stimulus folder,
    # or the release's own (mis.imi.release.stimuli_source).
    IMI_IMAGES = (
        declare_folder("imi.imagenet_train", IMI.imagenet_train, "ImageNet train folder", "set imi.imagenet_train")
        if IMI.trials_from == "file_map"
        else (
            declare_folder("imi.stimuli_dir", IMI.stimuli_dir, "stimulus folder", "set imi.stimuli_dir")
            if IMI.stimuli_dir
            else IMI_RELEASE
        )
    )
    IMI_STIMULI = {"trials_from": IMI.trials_from, "imagenet_train": IMI.imagenet_train, "stimuli_dir": IMI.stimuli_dir}

    wildcard_constraints:
        backend="|".join(map(re.escape, IMI_BACKENDS)),

    # Seconds-long table jobs: on a cluster, run them on the submitting node.
    localrules:
        fit_alpha,
        compare_similarities,
        find_overestimated_units,
        select_extreme_units,

    rule download_imi:
        """The IMI release from its Zenodo record (pooch, checksums from the record), archives unpacked."""
        output:
            report=paths.IMI_FILES,
        log:
            paths.log("download_imi"),
        conda:
            "../../envs/imi.yaml"
        params:
            data_dir=IMI.data_dir,
            needed=IMI_NEEDED,
            doi=IMI.doi,
            files=IMI.record_files,
            sha256=IMI.sha256,
            allow_unverified=IMI.allow_unverified,
            assets=[IMI_RELEASE],
            run=job_run(timeout=IMI.timeout),
        script:
            "../scripts/download_imi.py"

    rule score_human_responses:
        """Tidy main trials, per-unit human interpretability score (HIS) and per-model counts of one response table."""
        input:
            files=rules.download_imi.output.report,
        output:
            trials=paths.HUMAN_TRIALS,
            his=paths.HUMAN_SCORES,
            models=paths.HUMAN_MODELS,
        log:
            paths.log("score_human_responses", "{table}"),
        wildcard_constraints:
            table="main|lower_quality|all",
        conda:
            "../../envs/imi.yaml"
        params:
            responses=lambda wc: RESPONSES.format(table=wc.table),
            ci_level=IMI.validation.ci_level,
        script:
            "../scripts/score_human_responses.py"

    rule compute_imi_mis:
        """Task margins and MIS of the IMI units from the images humans saw (file map + ImageNet-train, or stimuli)."""
        input:
            files=rules.download_imi.output.report,
            human=paths.HUMAN_TRIALS.format(table=IMI.response_table),
        output:
            margins=paths.IMI_MARGINS,
            units=paths.IMI_UNITS,
            trials=paths.IMI_TRIALS,
            coverage=paths.IMI_COVERAGE,
        log:
            paths.log("compute_imi_mis", "{backend}"),
        conda:
            "../../envs/torch.yaml"
        threads: SETTINGS.threads.inference
        resources:
            mem_mb=per_attempt(8000),
            runtime=per_attempt(120),
            gpu=GPUS,
        params:
            **IMI_STIMULI,
            pattern=IMI.stimuli_pattern,
            conditions=IMI.conditions,
            similarity=lambda wc: IMI_BACKENDS[wc.backend].params(),
            alpha=SETTINGS.scoring.alpha,
            assets=lambda wc: [declare_similarity(IMI_BACKENDS[wc.backend].params()), IMI_IMAGES],
            run=lambda wc, threads: job_run(IMI_BACKENDS[wc.backend])(wc, threads),
        script:
            "../scripts/compute_imi_mis.py"

    rule fit_alpha:
        """Fit α on a seeded split of IMI units; held-out correlations, bootstrap CIs, noise ceiling (Fig. 2's tables)."""
        input:
            unpack(study_alpha_inputs),
            his=paths.HUMAN_SCORES.format(table=IMI.response_table),
            margins=rules.compute_imi_mis.output.margins,
        output:
            **FIGURES["fig2"].table_paths(backend="{backend}"),
        log:
            paths.log("fit_alpha", "{backend}"),
        conda:
            "../../envs/imi.yaml"
        params:
            conditions=IMI.conditions,
            settings=IMI.validation.params(),
        script:
            "../scripts/fit_alpha.py"

    rule compare_similarities:
        """Correlation of each backend's MIS with resampled HIS, and the noise ceiling (appendix, p.17)."""
        input:
            units=[FIGURES["fig2"].table_paths(backend=name)["units"] for name in IMI_BACKENDS],
        output:
            **FIGURES["similarity_comparison"].table_paths(),
        log:
            paths.log("compare_similarities"),
        conda:
            "../../envs/imi.yaml"
        params:
            names=list(IMI_BACKENDS),
            labels={name: similarity.label for name, similarity in IMI_BACKENDS.items()},
            n_simulations=IMI.validation.n_simulations,
            seed=IMI.validation.seed,
        script:
            "../scripts/compare_similarities.py"

    rule find_overestimated_units:
        """The IMI units whose MIS exceeds their HIS most, with a trial's image paths."""
        input:
            units=FIGURES["fig2"].table_paths(backend=SIMILARITY)["units"],
            trials=paths.IMI_TRIALS.format(backend=SIMILARITY),
            files=rules.download_imi.output.report,
        output:
            **FIGURES["imi_overestimated_units"].table_paths(),
        log:
            paths.log("find_overestimated_units"),
        conda:
            "../../envs/imi.yaml"
        params:
            **IMI_STIMULI,
            n=IMI.n_overestimated,
        script:
            "../scripts/find_overestimated_units.py"

    rule join_imi_units:
        """IMI layer names mapped to module names; IMI units joined with the project's own per-unit MIS."""
        input:
            imi_units=paths.IMI_UNITS.format(backend=SIMILARITY),
            units=expand(rules.compute_mis.output.units, model=MODELS),
        output:
            table=paths.UNIT_JOIN.format(backend=SIMILARITY),
            summary=paths.UNIT_JOIN_SUMMARY.format(backend=SIMILARITY),
        log:
            paths.log("join_imi_units"),
        conda:
            "../../envs/torch.yaml"
        params:
            models=MODELS,
            specs={model: MODEL_SPECS[model] for model in MODELS},
        script:
            "../scripts/join_imi_units.py"

    rule select_extreme_units:
        """The highest- and lowest-MIS units of each model (the units of the interventional study)."""
        input:
            units=expand(rules.compute_mis.output.units, model=MODELS),
        output:
            table=paths.EXTREME_UNITS,
        log:
            paths.log("select_extreme_units"),
        conda:
            "../../envs/analysis.yaml"
        params:
            n=IMI.n_extreme,
        script:
            "../scripts/select_extreme_units.py"
