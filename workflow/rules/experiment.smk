# The paper's interventional study (Fig. 2C) as a browser experiment (mis.experiment): only with an
# `experiment` config block; scoring and Fig. 2C also need `experiment.responses_dir`, the folder of
# the session files that participants' pages saved.
#
# compute_mis (study models) ─> select_study_units ─> assign_study_trials ─> build_experiment (with sample_tasks, prepare_images)
# session files ─> merge_experiment_responses ─> score_experiment_responses ─> analyze_fig2c (+ fit_alpha with `imi`) ─> plot_fig2c
#
# Its targets join `all` here (ALL_FIGURES of common.smk): the site, and with responses_dir Fig. 2C.

if "experiment" in config:
    from mis.experiment import CheckSettings, DesignSettings, PageSettings
    from mis.experiment.files import session_files

    EXPERIMENT = config["experiment"]
    STUDY_MODELS = EXPERIMENT.get("models", MODELS)
    if set(STUDY_MODELS) - set(BROWSER_MODELS):
        raise ValueError(
            f"config key 'experiment.models': {sorted(set(STUDY_MODELS) - set(BROWSER_MODELS))} are not models of `models`"
        )
    STUDY_DESIGN = DesignSettings.from_config(config)
    STUDY_CHECKS = CheckSettings.from_config(config)
    STUDY_PAGE = PageSettings.from_config(config)
    STUDY_UNITS_CSV = EXPERIMENT.get("units")

    # The study's files: the patterns of mis.paths with its name, other wildcards ({table}) kept.
    STUDY_PATHS = {
        name: getattr(paths, name).replace("{study}", EXPERIMENT["name"])
        for name in (
            "EXPERIMENT",
            "STUDY_UNITS",
            "STUDY_TRIALS",
            "STUDY_RESPONSES",
            "STUDY_SESSIONS",
            "STUDY_HUMAN_TRIALS",
            "STUDY_HUMAN_SCORES",
            "STUDY_HUMAN_MODELS",
        )
    }

    localrules:
        select_study_units,
        assign_study_trials,

    rule select_study_units:
        """Per model the easiest, hardest and random non-constant units (or the user's CSV), and the practice units."""
        input:
            units=expand(rules.compute_mis.output.units, model=STUDY_MODELS),
        output:
            table=STUDY_PATHS["STUDY_UNITS"],
        log:
            paths.log("select_study_units"),
        conda:
            "../../envs/analysis.yaml"
        params:
            models=STUDY_MODELS,
            design=STUDY_DESIGN.params(),
            units_csv=STUDY_UNITS_CSV,
            assets=(
                [declare_file("experiment.units", STUDY_UNITS_CSV, "unit list", "set experiment.units")]
                if STUDY_UNITS_CSV
                else []
            ),
        script:
            "../scripts/select_study_units.py"

    rule assign_study_trials:
        """Every participant's trial list: each unit reaches its responses, none twice in a session."""
        input:
            units=rules.select_study_units.output.table,
        output:
            trials=STUDY_PATHS["STUDY_TRIALS"],
        log:
            paths.log("assign_study_trials"),
        conda:
            "../../envs/analysis.yaml"
        params:
            design=STUDY_DESIGN.params(),
            n_tasks=SETTINGS.tasks.n_tasks,
        script:
            "../scripts/assign_study_trials.py"

    rule build_experiment:
        """The study as a static jsPsych site (open results/experiment/<study>/index.html from disk,
        or put the folder on any static host): stimuli as JPEGs of the project's own tasks."""
        input:
            trials=rules.assign_study_trials.output.trials,
            units=expand(rules.compute_mis.output.units, model=STUDY_MODELS),
            tasks=expand(rules.sample_tasks.output.tasks, model=STUDY_MODELS),
            manifest=rules.prepare_images.output.manifest,
        output:
            site=directory(STUDY_PATHS["EXPERIMENT"]),
        log:
            paths.log("build_experiment"),
        conda:
            "../../envs/torch.yaml"
        threads: 2
        params:
            models=STUDY_MODELS,
            images_root=config["images"]["root"],
            page=STUDY_PAGE.params(),
            checks=STUDY_CHECKS.params(),
            run=job_run(STUDY_PAGE),
        script:
            "../scripts/build_experiment.py"

    ALL_FIGURES.append(rules.build_experiment.output.site)
    if "responses_dir" in EXPERIMENT:

        localrules:
            merge_experiment_responses,
            score_experiment_responses,
            analyze_fig2c,
            plot_fig2c,

        rule merge_experiment_responses:
            """The session files as the release's responses_main.csv and responses_lower_quality.csv, checks recomputed."""
            input:
                trials=rules.assign_study_trials.output.trials,
            output:
                main=STUDY_PATHS["STUDY_RESPONSES"].format(table="main"),
                lower_quality=STUDY_PATHS["STUDY_RESPONSES"].format(table="lower_quality"),
                sessions=STUDY_PATHS["STUDY_SESSIONS"],
            log:
                paths.log("merge_experiment_responses"),
            conda:
                "../../envs/imi.yaml"
            params:
                responses_dir=EXPERIMENT["responses_dir"],
                sessions=session_files(EXPERIMENT["responses_dir"]),
                checks=STUDY_CHECKS.params(),
                assets=[
                    declare_folder(
                        "experiment.responses_dir",
                        EXPERIMENT["responses_dir"],
                        "folder of session files",
                        "make it and put the session files there (or point experiment.responses_dir at them)",
                    )
                ],
            script:
                "../scripts/merge_experiment_responses.py"

        rule score_experiment_responses:
            """Tidy main trials, per-unit HIS and per-model counts of a merged table, by the IMI code."""
            input:
                responses=STUDY_PATHS["STUDY_RESPONSES"],
            output:
                trials=STUDY_PATHS["STUDY_HUMAN_TRIALS"],
                his=STUDY_PATHS["STUDY_HUMAN_SCORES"],
                models=STUDY_PATHS["STUDY_HUMAN_MODELS"],
            log:
                paths.log("score_experiment_responses", "{table}"),
            wildcard_constraints:
                table="main|lower_quality",
            conda:
                "../../envs/imi.yaml"
            params:
                ci_level=EXPERIMENT["ci_level"],
            script:
                "../scripts/score_experiment_responses.py"

        rule analyze_fig2c:
            """HIS of the easiest, random and hardest units per model, the tests between them, MIS vs HIS."""
            input:
                his=STUDY_PATHS["STUDY_HUMAN_SCORES"].format(table="main"),
                units=rules.select_study_units.output.table,
                imi_units=paths.VALIDATION_UNITS.format(backend=SIMILARITY) if "imi" in config else [],
            output:
                groups=paths.analysis("fig2c"),
                tests=paths.analysis("fig2c_tests"),
                units=paths.analysis("fig2c_units"),
            log:
                paths.log("analyze_fig2c"),
            conda:
                "../../envs/analysis.yaml"
            params:
                n_bootstrap=EXPERIMENT["n_bootstrap"],
                ci_level=EXPERIMENT["ci_level"],
                seed=STUDY_DESIGN.seed,
            script:
                "../scripts/analyze_fig2c.py"

        rule plot_fig2c:
            """Fig. 2C: HIS of the units MIS calls easiest and hardest against random units; MIS vs HIS."""
            input:
                groups=rules.analyze_fig2c.output.groups,
                tests=rules.analyze_fig2c.output.tests,
                units=rules.analyze_fig2c.output.units,
            output:
                figure=report(paths.figure("fig2c"), category="Figures", caption="../report/fig2c.rst"),
            log:
                paths.log("plot_fig2c"),
            conda:
                "../../envs/plots.yaml"
            params:
                labels={model: MODEL_LABELS[model] for model in STUDY_MODELS},
            script:
                "../scripts/plot_fig2c.py"

        ALL_FIGURES.append(rules.plot_fig2c.output.figure)
