# Validation against the IMI human data (method.md §3–4, Fig. 2): only with an `imi` config block.
#
# download_imi ─> score_human_responses (per response table) ─┐
#             └─> compute_imi_mis (stimuli, similarity) ───────┴─> fit_alpha ─> plot_fig2
# compute_mis (per model) ─> select_extreme_units

if "imi" in config:
    IMI = config["imi"]
    IMI_DIR = f"results/imi/{SIMILARITY}"
    IMI_STIMULI = IMI.get("stimuli_dir", os.path.join(IMI["data_dir"], "stimuli"))

    rule download_imi:
        """The IMI files of the manifest, checksum-verified: downloaded, or placed by hand."""
        input:
            manifest=os.path.join(workflow.basedir, IMI["manifest"]),  # relative: shipped in the repository
        output:
            report="results/imi/files.json",
        log:
            "logs/download_imi.log",
        conda:
            "../../envs/imi.yaml"
        params:
            data_dir=IMI["data_dir"],
            allow_unverified=IMI["allow_unverified"],
            timeout=IMI["timeout"],
        script:
            "../scripts/download_imi.py"

    rule score_human_responses:
        """Tidy main trials and per-unit human interpretability score (HIS) of one response table."""
        input:
            files=rules.download_imi.output.report,
        output:
            trials="results/imi/responses/{table}_trials.parquet",
            his="results/imi/responses/{table}_his.csv",
        log:
            "logs/score_human_responses/{table}.log",
        wildcard_constraints:
            table="main|lower_quality|all",
        conda:
            "../../envs/imi.yaml"
        params:
            responses=lambda wc: os.path.join(IMI["data_dir"], f"responses_{wc.table}.csv"),
            ci_level=IMI["ci_level"],
        script:
            "../scripts/score_human_responses.py"

    rule compute_imi_mis:
        """Task margins and MIS of the IMI units from the stimuli humans saw."""
        input:
            files=rules.download_imi.output.report,
        output:
            margins=f"{IMI_DIR}/margins.parquet",
            units=f"{IMI_DIR}/units.csv",
        log:
            f"logs/compute_imi_mis/{SIMILARITY}.log",
        conda:
            "../../envs/torch.yaml"
        threads: 2
        resources:
            mem_mb=per_attempt(8000),
            runtime=per_attempt(120),
            gpu=GPUS,
        params:
            stimuli_dir=IMI_STIMULI,
            pattern=IMI["stimuli_pattern"],
            conditions=IMI["conditions"],
            similarity=config["similarity"],
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
            summary=f"{IMI_DIR}/alpha.json",
            units=f"{IMI_DIR}/validation_units.csv",
            models=f"{IMI_DIR}/validation_models.csv",
        log:
            f"logs/fit_alpha/{SIMILARITY}.log",
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
            summary=rules.fit_alpha.output.summary,
            units=rules.fit_alpha.output.units,
            models=rules.fit_alpha.output.models,
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
