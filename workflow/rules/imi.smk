# Validation against the IMI human data (method.md §3–4, Fig. 2, appendix): only with an `imi` config block.
#
# download_imi ─> score_human_responses ─┐
#             └──────────────────────────┴─> compute_imi_mis (per backend) ─> fit_alpha (per backend) ─> plot_fig2
#   fit_alpha (every backend) ─> compare_similarities ─> plot_similarity_comparison
#   fit_alpha + compute_imi_mis ─> find_overestimated_units ─> plot_overestimated_units
#   compute_imi_mis + compute_mis (per model) ─> join_imi_units;  compute_mis ─> select_extreme_units

if "imi" in config:
    from mis.imi.release import FILE_MAP, RESPONSES

    IMI = config["imi"]
    IMI_DIR = f"results/imi/{SIMILARITY}"
    # The main similarity backend and the ones only compared (appendix), by name.
    IMI_BACKENDS = {spec["name"]: spec for spec in [config["similarity"], *IMI["similarities"]]}
    IMI_NEEDED = [RESPONSES.format(table=IMI["response_table"])] + (
        [FILE_MAP] if IMI["trials_from"] == "file_map" or "stimuli_dir" not in IMI else []
    )
    IMI_IMAGE_ROOT = (
        IMI.get("imagenet_train", config["images"]["root"])
        if IMI["trials_from"] == "file_map"
        else IMI.get("stimuli_dir")
    )

    wildcard_constraints:
        backend="|".join(map(re.escape, IMI_BACKENDS)),

    rule download_imi:
        """The IMI release from its Zenodo record (pooch, checksums from the record), archives unpacked."""
        output:
            report="results/imi/files.json",
        log:
            "logs/download_imi.log",
        conda:
            "../../envs/imi.yaml"
        params:
            data_dir=IMI["data_dir"],
            needed=IMI_NEEDED,
            doi=IMI["doi"],
            files=IMI["record_files"],
            sha256=IMI["sha256"],
            allow_unverified=IMI["allow_unverified"],
            timeout=IMI["timeout"],
        script:
            "../scripts/download_imi.py"

    rule score_human_responses:
        """Tidy main trials, per-unit human interpretability score (HIS) and per-model counts of one response table."""
        input:
            files=rules.download_imi.output.report,
        output:
            trials="results/imi/responses/{table}_trials.parquet",
            his="results/imi/responses/{table}_his.csv",
            models="results/imi/responses/{table}_models.csv",
        log:
            "logs/score_human_responses/{table}.log",
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
            human=f"results/imi/responses/{IMI['response_table']}_trials.parquet",
        output:
            margins="results/imi/{backend}/margins.parquet",
            units="results/imi/{backend}/units.csv",
            trials="results/imi/{backend}/trials.csv",
            coverage="results/imi/{backend}/coverage.csv",
        log:
            "logs/compute_imi_mis/{backend}.log",
        conda:
            "../../envs/torch.yaml"
        threads: 2
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
            similarity=lambda wc: IMI_BACKENDS[wc.backend],
            alpha=config["mis"]["alpha"],
            device=config["device"],
        script:
            "../scripts/compute_imi_mis.py"

    rule fit_alpha:
        """Fit α on a seeded split of IMI units; held-out correlations, bootstrap CIs, noise ceiling."""
        input:
            his=f"results/imi/responses/{IMI['response_table']}_his.csv",
            margins=rules.compute_imi_mis.output.margins,
        output:
            summary="results/imi/{backend}/alpha.json",
            units="results/imi/{backend}/validation_units.csv",
            models="results/imi/{backend}/validation_models.csv",
        log:
            "logs/fit_alpha/{backend}.log",
        conda:
            "../../envs/imi.yaml"
        params:
            conditions=IMI["conditions"],
            settings={
                "objective": IMI["alpha_objective"],
                "fit_fraction": IMI["fit_fraction"],
                "seed": IMI.get("seed", config["seed"]),
                "n_bootstrap": IMI["n_bootstrap"],
                "n_simulations": IMI["n_simulations"],
                "ci_level": IMI["ci_level"],
            },
        script:
            "../scripts/fit_alpha.py"

    rule plot_fig2:
        """Fig. 2: model-level and unit-level MIS against the IMI human scores."""
        input:
            summary=f"{IMI_DIR}/alpha.json",
            units=f"{IMI_DIR}/validation_units.csv",
            models=f"{IMI_DIR}/validation_models.csv",
        output:
            figure="figures/fig2.pdf",
        log:
            "logs/plot_fig2.log",
        conda:
            "../../envs/plots.yaml"
        params:
            similarity_label=config["similarity"]["label"],
        script:
            "../scripts/plot_fig2.py"

    rule compare_similarities:
        """Correlation of each backend's MIS with resampled HIS, and the noise ceiling (appendix, p.17)."""
        input:
            units=expand("results/imi/{backend}/validation_units.csv", backend=IMI_BACKENDS),
        output:
            table="results/imi/similarity_comparison.csv",
        log:
            "logs/compare_similarities.log",
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
                "figures/similarity_comparison.pdf", category="Figures", caption="../report/similarity_comparison.rst"
            ),
        log:
            "logs/plot_similarity_comparison.log",
        conda:
            "../../envs/plots.yaml"
        script:
            "../scripts/plot_similarity_comparison.py"

    rule find_overestimated_units:
        """The IMI units whose MIS exceeds their HIS most, with a trial's image paths."""
        input:
            units=f"{IMI_DIR}/validation_units.csv",
            trials=f"{IMI_DIR}/trials.csv",
        output:
            table=f"{IMI_DIR}/overestimated_units.csv",
        log:
            "logs/find_overestimated_units.log",
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
                "figures/imi_overestimated_units.pdf",
                category="Figures",
                caption="../report/imi_overestimated_units.rst",
            ),
        log:
            "logs/plot_overestimated_units.log",
        conda:
            "../../envs/torch.yaml"
        params:
            image_root=IMI_IMAGE_ROOT,
        script:
            "../scripts/plot_overestimated_units.py"

    rule join_imi_units:
        """IMI layer names mapped to module names; IMI units joined with the project's own per-unit MIS."""
        input:
            imi_units=f"{IMI_DIR}/units.csv",
            units=expand(rules.compute_mis.output.units, model=MODELS),
        output:
            table=f"{IMI_DIR}/unit_join.csv",
            summary=f"{IMI_DIR}/unit_join.json",
        log:
            "logs/join_imi_units.log",
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
            table="results/imi/extreme_units.csv",
        log:
            "logs/select_extreme_units.log",
        conda:
            "../../envs/analysis.yaml"
        params:
            n=IMI["n_extreme"],
        script:
            "../scripts/select_extreme_units.py"
