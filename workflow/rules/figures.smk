# Every figure is an analysis rule and a plot rule (mis.figures.FIGURES is the table of both): the
# analysis rule writes the tables behind it under results/analysis/ (a function of mis.stages), the
# plot rule only reads those tables and draws (mis.figures). The analysis rules of the training,
# SAE, IMI and human-study figures live with their stages (training.smk, sae.smk, imi.smk,
# experiment.smk); every plot rule is
# built below from the table. All but the convergence analysis, which re-scores every unit, are
# seconds-long: on a cluster they run on the submitting node.


localrules:
    analyze_models,
    analyze_accuracy,
    analyze_layer_types,
    analyze_depth_width,
    select_example_units,


rule analyze_models:
    """The tables of Fig. 3 and of the constant units: the model summary with each model's label,
    whether it is highlighted, sorted by average MIS and by the share of constant units."""
    input:
        summary=rules.summarize_models.output.summary,
    output:
        fig3=paths.analysis("fig3"),
        constant_units=paths.analysis("constant_units"),
    log:
        paths.log("analyze_models"),
    conda:
        "../../envs/analysis.yaml"
    params:
        labels=MODEL_LABELS,
        highlight=HIGHLIGHT_MODELS,
    script:
        "../scripts/analyze_models.py"


rule analyze_accuracy:
    """Fig. 4's tables: accuracy and MIS per model, the accuracy–MIS correlation, and the per-unit
    MIS of the models spanning the range of variability with their density curves."""
    input:
        summary=rules.summarize_models.output.summary,
        units=expand(rules.compute_mis.output.units, model=MODELS),
    output:
        table=paths.analysis("fig4"),
        densities=paths.analysis("fig4_densities"),
        kde=paths.analysis("fig4_kde"),
        correlation=paths.analysis("fig4_correlation"),
    log:
        paths.log("analyze_accuracy"),
    conda:
        "../../envs/analysis.yaml"
    params:
        models=MODELS,
        n_density_models=15,
        seed=SETTINGS.seed,
        accuracy_table=ACCURACY_TABLE,
        assets=[
            declare_file(
                "accuracy_table", ACCURACY_TABLE, "accuracy table (model, top1, source)", "set accuracy_table"
            )
        ],
    script:
        "../scripts/analyze_accuracy.py"


rule analyze_layer_types:
    """Fig. 5's tables: mean MIS per model and layer type, and Holm-corrected Conover tests."""
    input:
        units=expand(rules.compute_mis.output.units, model=MODELS),
    output:
        table=paths.analysis("fig5"),
        pvalues=paths.analysis("fig5_conover_holm"),
    log:
        paths.log("analyze_layer_types"),
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/analyze_layer_types.py"


rule analyze_depth_width:
    """Fig. 6's tables: mean MIS per layer with its type, relative depth and width, and per layer
    type its mean in equal bins of depth and of width."""
    input:
        units=expand(rules.compute_mis.output.units, model=MODELS),
    output:
        table=paths.analysis("fig6"),
        bins=paths.analysis("fig6_bins"),
    log:
        paths.log("analyze_depth_width"),
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/analyze_depth_width.py"


rule select_example_units:
    """The appendix's example units: each model's highest- and lowest-MIS unit, and the paths of
    their most and least activating images."""
    input:
        units=expand(rules.compute_mis.output.units, model=MODELS),
        extremes=expand(rules.extract_activations.output.extremes, model=MODELS),
        manifest=rules.prepare_images.output.manifest,
    output:
        table=paths.analysis("example_units"),
        images=paths.analysis("example_units_images"),
    log:
        paths.log("select_example_units"),
    conda:
        "../../envs/analysis.yaml"
    params:
        models=MODELS,
        n_images=5,
    script:
        "../scripts/select_example_units.py"


rule analyze_convergence:
    """Appendix: mean |MIS(n) − MIS(N)| over units for n = 1 … N tasks, in both sampling scenarios."""
    input:
        extremes=expand(rules.extract_activations.output.extremes, model=MODELS),
        units=expand(rules.compute_mis.output.units, model=MODELS),
        embeddings=expand(paths.EMBEDDINGS, similarity=SIMILARITY, model=MODELS),
    output:
        table=paths.analysis("convergence"),
    log:
        paths.log("analyze_convergence"),
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=per_attempt(16000),
        runtime=per_attempt(60),
    params:
        models=MODELS,
        tasks=SETTINGS.tasks.params(),
        alpha=SETTINGS.scoring.alpha,
        run=job_run(cache_dir=EMBEDDING_CACHE),
    script:
        "../scripts/analyze_convergence.py"


# What each figure is drawn with besides its tables: display labels, and the image folder of the
# example units (their table holds paths below it).
FIGURE_OPTIONS = {
    "fig2": {"similarity_label": SIMILARITY_LABEL},
    "fig3": {"similarity_label": SIMILARITY_LABEL},
    "fig4": {"labels": MODEL_LABELS},
    "constant_units": {"threshold": SETTINGS.scoring.constant_threshold},
    "example_units": {"images_root": IMAGES_ROOT},
    "convergence": {"labels": MODEL_LABELS},
    "fig2c": {"labels": {model: MODEL_LABELS[model] for model in STUDY_MODELS}},
}
if TRAINING:
    FIGURE_OPTIONS["fig7"] = FIGURE_OPTIONS["fig8"] = FIGURE_OPTIONS["fig8_all_epochs"] = {
        "model_label": TRAINING.label,
        "similarity_label": SIMILARITY_LABEL,
    }
if SAE:
    FIGURE_OPTIONS["sae"] = {
        "model_label": MODEL_LABELS[SAE.model],
        "layer": SAE.layer,
        "similarity_label": SIMILARITY_LABEL,
    }

for figure_name in FIGURE_NAMES:

    rule:
        """A figure drawn from its tables only (mis.figures.FIGURES), captioned in the report."""
        name:
            f"plot_{figure_name}"
        input:
            **FIGURES[figure_name].table_paths(backend=SIMILARITY),
        output:
            figure=report(paths.figure(figure_name), category="Figures", caption=f"../report/{figure_name}.rst"),
        log:
            paths.log(f"plot_{figure_name}"),
        localrule: True
        conda:
            "../../envs/torch.yaml" if FIGURES[figure_name].reads_images else "../../envs/plots.yaml"
        params:
            figure=figure_name,
            options=FIGURE_OPTIONS.get(figure_name, {}),
        script:
            "../scripts/plot_figure.py"
