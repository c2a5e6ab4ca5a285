# Validation against the IMI human data (method.md §3–4, Fig. 2, appendix): only with an `imi` config block.
#
# download_imi ─> score_human_responses ─┐
#             └──────────────────────────┴─> compute_imi_mis (per backend) ─> fit_alpha (per backend) ─> plot_fig2
#   fit_alpha (every backend) ─> compare_similarities ─> plot_similarity_comparison
#   fit_alpha + compute_imi_mis ─> find_overestimated_units ─> plot_overestimated_units
#   compute_imi_mis + compute_mis (per model) ─> join_imi_units;  compute_mis ─> select_extreme_units

if "imi" in config:
    from mis.imi.release import FILE_MAP, RESPONSES

    from dataclasses import replace

    from mis.imi.alpha import ValidationSettings

    IMI = config["imi"]
    # The main similarity backend and the ones only compared (appendix), by name.
    IMI_BACKENDS = {spec["name"]: spec for spec in [config["similarity"], *IMI["similarities"]]}
    IMI_SCORING = {name: replace(SETTINGS.scoring, similarity=spec) for name, spec in IMI_BACKENDS.items()}
    IMI_NEEDED = [RESPONSES.format(table=IMI["response_table"])] + (
        [FILE_MAP] if IMI["trials_from"] == "file_map" or "stimuli_dir" not in IMI else []
    )
    IMI_IMAGES = (
        declare_folder(
            "imi.imagenet_train",
            IMI.get("imagenet_train", config["images"]["root"]),
            "ImageNet train folder",
            "set imi.imagenet_train",
        )
        if IMI["trials_from"] == "file_map"
        else (
            declare_folder("imi.stimuli_dir", IMI["stimuli_dir"], "stimulus folder", "set imi.stimuli_dir")
            if "stimuli_dir" in IMI
            else declare_imi(IMI["data_dir"], IMI_NEEDED, IMI["doi"])
        )
    )
    IMI_IMAGE_ROOT = (
        IMI.get("imagenet_train", config["images"]["root"])
        if IMI["trials_from"] == "file_map"
        else IMI.get("stimuli_dir")
    )

    wildcard_constraints:
        backend="|".join(map(re.escape, IMI_BACKENDS)),

    # Seconds-long table and plotting jobs: on a cluster, run them on the submitting node.
    localrules:
        fit_alpha,
        plot_fig2,
        compare_similarities,
        plot_similarity_comparison,
        find_overestimated_units,
        plot_overestimated_units,
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
            data_dir=IMI["data_dir"],
            needed=IMI_NEEDED,
            doi=IMI["doi"],
            files=IMI["record_files"],
            sha256=IMI["sha256"],
            allow_unverified=IMI["allow_unverified"],
            assets=[declare_imi(IMI["data_dir"], IMI_NEEDED, IMI["doi"])],
            run=job_run(timeout=IMI["timeout"]),
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
            ci_level=IMI["ci_level"],
        script:
            "../scripts/score_human_responses.py"

    rule compute_imi_mis:
        """Task margins and MIS of the IMI units from the images humans saw (file map + ImageNet-train, or stimuli)."""
        input:
            files=rules.download_imi.output.report,
            human=paths.HUMAN_TRIALS.format(table=IMI["response_table"]),
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
            trials_from=IMI["trials_from"],
            imagenet_train=IMI.get("imagenet_train", config["images"]["root"]),
            stimuli_dir=IMI.get("stimuli_dir"),
            pattern=IMI["stimuli_pattern"],
            conditions=IMI["conditions"],
            similarity=lambda wc: IMI_SCORING[wc.backend].params()["similarity"],
            alpha=SETTINGS.scoring.alpha,
            assets=lambda wc: [declare_similarity(IMI_SCORING[wc.backend].params()["similarity"]), IMI_IMAGES],
            run=lambda wc, threads: job_run(IMI_SCORING[wc.backend])(wc, threads),
        script:
            "../scripts/compute_imi_mis.py"

    rule fit_alpha:
        """Fit α on a seeded split of IMI units; held-out correlations, bootstrap CIs, noise ceiling."""
        input:
            his=paths.HUMAN_SCORES.format(table=IMI["response_table"]),
            margins=rules.compute_imi_mis.output.margins,
        output:
            summary=paths.ALPHA,
            units=paths.VALIDATION_UNITS,
            models=paths.VALIDATION_MODELS,
        log:
            paths.log("fit_alpha", "{backend}"),
        conda:
            "../../envs/imi.yaml"
        params:
            conditions=IMI["conditions"],
            settings=ValidationSettings.from_config(config).params(),
        script:
            "../scripts/fit_alpha.py"

    rule plot_fig2:
        """Fig. 2: model-level and unit-level MIS against the IMI human scores."""
        input:
            summary=paths.ALPHA.format(backend=SIMILARITY),
            units=paths.VALIDATION_UNITS.format(backend=SIMILARITY),
            models=paths.VALIDATION_MODELS.format(backend=SIMILARITY),
        output:
            figure=report(paths.figure("fig2"), category="Figures", caption="../report/fig2.rst"),
        log:
            paths.log("plot_fig2"),
        conda:
            "../../envs/plots.yaml"
        params:
            similarity_label=config["similarity"]["label"],
        script:
            "../scripts/plot_fig2.py"

    rule compare_similarities:
        """Correlation of each backend's MIS with resampled HIS, and the noise ceiling (appendix, p.17)."""
        input:
            units=expand(paths.VALIDATION_UNITS, backend=IMI_BACKENDS),
        output:
            table=paths.SIMILARITY_COMPARISON,
        log:
            paths.log("compare_similarities"),
        conda:
            "../../envs/imi.yaml"
        params:
            names=list(IMI_BACKENDS),
            labels={name: spec["label"] for name, spec in IMI_BACKENDS.items()},
            n_simulations=IMI["n_simulations"],
            seed=IMI.get("seed", config["seed"]),
        script:
            "../scripts/compare_similarities.py"

    rule plot_similarity_comparison:
        """Appendix: MIS–HIS correlation per similarity backend against the noise ceiling."""
        input:
            table=rules.compare_similarities.output.table,
        output:
            figure=report(
                paths.figure("similarity_comparison"),
                category="Figures",
                caption="../report/similarity_comparison.rst",
            ),
        log:
            paths.log("plot_similarity_comparison"),
        conda:
            "../../envs/plots.yaml"
        script:
            "../scripts/plot_similarity_comparison.py"

    rule find_overestimated_units:
        """The IMI units whose MIS exceeds their HIS most, with a trial's image paths."""
        input:
            units=paths.VALIDATION_UNITS.format(backend=SIMILARITY),
            trials=paths.IMI_TRIALS.format(backend=SIMILARITY),
        output:
            table=paths.OVERESTIMATED_UNITS.format(backend=SIMILARITY),
        log:
            paths.log("find_overestimated_units"),
        conda:
            "../../envs/imi.yaml"
        params:
            n=IMI["n_overestimated"],
        script:
            "../scripts/find_overestimated_units.py"

    rule plot_overestimated_units:
        """Appendix: references and queries of the units where MIS overestimates HIS most."""
        input:
            table=rules.find_overestimated_units.output.table,
        output:
            figure=report(
                paths.figure("imi_overestimated_units"),
                category="Figures",
                caption="../report/imi_overestimated_units.rst",
            ),
        log:
            paths.log("plot_overestimated_units"),
        conda:
            "../../envs/torch.yaml"
        params:
            image_root=IMI_IMAGE_ROOT,
        script:
            "../scripts/plot_overestimated_units.py"

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
            n=IMI["n_extreme"],
        script:
            "../scripts/select_extreme_units.py"
