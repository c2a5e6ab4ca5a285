# The paper's interventional study (Fig. 2C) as a browser experiment (mis.experiment): only with an
# `experiment` config block; scoring and Fig. 2C also need `experiment.responses_dir`, the folder of
# the session files that participants' pages saved.
#
# compute_mis (study models) ─> select_study_units ─> assign_study_trials ─> build_experiment (with sample_tasks, prepare_images)
# session files ─> merge_experiment_responses ─> score_experiment_responses ─> analyze_fig2c (+ fit_alpha with `imi`)
# with experiment.fit_alpha: select_study_units + compute_mis' inputs ─> compute_study_margins ─> fit_alpha (imi.smk)
# Fig. 2C is drawn in figures.smk; the site and the figure join `all` (ALL_FIGURES, common.smk).

if EXPERIMENT:
    from mis.experiment.files import session_files

    # The study's files: the patterns of mis.paths with its name, other wildcards ({table}) kept.
    STUDY_PATHS = {
        name: getattr(paths, name).replace("{study}", EXPERIMENT.name)
        for name in (
            "EXPERIMENT",
            "STUDY_UNITS",
            "STUDY_TRIALS",
            "STUDY_RESPONSES",
            "STUDY_SESSIONS",
            "STUDY_HUMAN_TRIALS",
            "STUDY_HUMAN_SCORES",
            "STUDY_HUMAN_MODELS",
            "STUDY_MARGINS",
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
            design=EXPERIMENT.design.params(),
            units_csv=EXPERIMENT.units,
            assets=(
                [declare_file("experiment.units", EXPERIMENT.units, "unit list", "set experiment.units")]
                if EXPERIMENT.units
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
            design=EXPERIMENT.design.params(),
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
            images_root=IMAGES_ROOT,
            page=EXPERIMENT.page.params(),
            checks=EXPERIMENT.checks.params(),
            run=job_run(EXPERIMENT.page),
        script:
            "../scripts/build_experiment.py"

    if EXPERIMENT.responses_dir:

        localrules:
            merge_experiment_responses,
            score_experiment_responses,
            analyze_fig2c,

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
                responses_dir=EXPERIMENT.responses_dir,
                sessions=session_files(EXPERIMENT.responses_dir),
                checks=EXPERIMENT.checks.params(),
                assets=[
                    declare_folder(
                        "experiment.responses_dir",
                        EXPERIMENT.responses_dir,
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
                ci_level=EXPERIMENT.ci_level,
            script:
                "../scripts/score_experiment_responses.py"

        rule analyze_fig2c:
            """HIS of the easiest, random and hardest units per model, the tests between them, MIS vs HIS."""
            input:
                his=STUDY_PATHS["STUDY_HUMAN_SCORES"].format(table="main"),
                units=rules.select_study_units.output.table,
                imi_units=FIGURES["fig2"].table_paths(backend=SIMILARITY)["units"] if IMI else [],
            output:
                **FIGURES["fig2c"].table_paths(),
            log:
                paths.log("analyze_fig2c"),
            conda:
                "../../envs/analysis.yaml"
            params:
                n_bootstrap=EXPERIMENT.n_bootstrap,
                ci_level=EXPERIMENT.ci_level,
                seed=EXPERIMENT.design.seed,
            script:
                "../scripts/analyze_fig2c.py"

    if STUDY_ALPHA:

        rule compute_study_margins:
            """Task margins of the study's units over the tasks their trials showed, for the α fit."""
            input:
                unpack(study_similarity_inputs),
                study=rules.select_study_units.output.table,
                units=expand(rules.compute_mis.output.units, model=STUDY_MODELS),
                tasks=expand(rules.sample_tasks.output.tasks, model=STUDY_MODELS),
            output:
                margins=STUDY_PATHS["STUDY_MARGINS"],
            log:
                paths.log("compute_study_margins"),
            conda:
                "../../envs/torch.yaml"
            threads: SETTINGS.threads.inference
            resources:
                mem_mb=per_attempt(4000),
                runtime=per_attempt(60),
            params:
                models=STUDY_MODELS,
                similarity=SETTINGS.scoring.similarity.params(),
                tasks_per_unit=EXPERIMENT.design.tasks_per_unit,
                images_root=IMAGES_ROOT,
                run=job_run(SETTINGS.scoring.similarity, cache_dir=EMBEDDING_CACHE),
            script:
                "../scripts/compute_study_margins.py"
