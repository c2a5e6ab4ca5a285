# Every figure is two rules: an analysis rule writes the tables behind it (results/analysis/, by a
# function of mis.analysis), and a plot rule only reads tables and draws (mis.figures.<name>.plot).
# Both are seconds-long: on a cluster they run on the submitting node, except the convergence
# analysis, which re-scores every unit.


localrules:
    analyze_accuracy,
    analyze_layer_types,
    analyze_depth_width,
    select_example_units,
    plot_fig3,
    plot_fig4,
    plot_fig5,
    plot_fig6,
    plot_constant_units,
    plot_example_units,
    plot_convergence,


rule plot_fig3:
    """Fig. 3: models sorted by average per-unit MIS, with the 5th–95th percentile band."""
    input:
        summary=rules.summarize_models.output.summary,
    output:
        figure=report(paths.figure("fig3"), category="Figures", caption="../report/fig3.rst"),
    log:
        paths.log("plot_fig3"),
    conda:
        "../../envs/plots.yaml"
    params:
        similarity_label=config["similarity"]["label"],
        labels=MODEL_LABELS,
        highlight=config["highlight_models"],
    script:
        "../scripts/plot_fig3.py"


rule analyze_accuracy:
    """Fig. 4's tables: accuracy and MIS per model, the accuracy–MIS correlation, and the per-unit
    MIS of the models spanning the range of variability."""
    input:
        summary=rules.summarize_models.output.summary,
        units=expand(rules.compute_mis.output.units, model=MODELS),
    output:
        table=paths.analysis("fig4"),
        densities=paths.analysis("fig4_densities"),
        correlation=paths.analysis("fig4_correlation"),
    log:
        paths.log("analyze_accuracy"),
    conda:
        "../../envs/analysis.yaml"
    params:
        models=MODELS,
        n_density_models=15,
        seed=config["seed"],
        accuracy_table=ACCURACY_TABLE,
        assets=[
            declare_file(
                "accuracy_table", ACCURACY_TABLE, "accuracy table (model, top1, source)", "set accuracy_table"
            )
        ],
    script:
        "../scripts/analyze_accuracy.py"


rule plot_fig4:
    """Fig. 4: ImageNet top-1 accuracy vs average MIS; per-unit MIS densities."""
    input:
        table=rules.analyze_accuracy.output.table,
        densities=rules.analyze_accuracy.output.densities,
        correlation=rules.analyze_accuracy.output.correlation,
    output:
        figure=report(paths.figure("fig4"), category="Figures", caption="../report/fig4.rst"),
    log:
        paths.log("plot_fig4"),
    conda:
        "../../envs/plots.yaml"
    params:
        labels=MODEL_LABELS,
    script:
        "../scripts/plot_fig4.py"


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


rule plot_fig5:
    """Fig. 5: MIS by layer type with Holm-corrected Conover tests."""
    input:
        table=rules.analyze_layer_types.output.table,
        pvalues=rules.analyze_layer_types.output.pvalues,
    output:
        figure=report(paths.figure("fig5"), category="Figures", caption="../report/fig5.rst"),
    log:
        paths.log("plot_fig5"),
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/plot_fig5.py"


rule analyze_depth_width:
    """Fig. 6's table: mean MIS per layer with its type, relative depth and width."""
    input:
        units=expand(rules.compute_mis.output.units, model=MODELS),
    output:
        table=paths.analysis("fig6"),
    log:
        paths.log("analyze_depth_width"),
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/analyze_depth_width.py"


rule plot_fig6:
    """Fig. 6: MIS vs relative depth and width, per layer type."""
    input:
        table=rules.analyze_depth_width.output.table,
    output:
        figure=report(paths.figure("fig6"), category="Figures", caption="../report/fig6.rst"),
    log:
        paths.log("plot_fig6"),
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/plot_fig6.py"


rule plot_constant_units:
    """Appendix: the constant-unit ratio per model (its table is the model summary)."""
    input:
        summary=rules.summarize_models.output.summary,
    output:
        figure=report(paths.figure("constant_units"), category="Figures", caption="../report/constant_units.rst"),
    log:
        paths.log("plot_constant_units"),
    conda:
        "../../envs/plots.yaml"
    params:
        labels=MODEL_LABELS,
    script:
        "../scripts/plot_constant_units.py"


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


rule plot_example_units:
    """Appendix: most and least activating images of each model's highest- and lowest-MIS unit."""
    input:
        table=rules.select_example_units.output.table,
        images=rules.select_example_units.output.images,
    output:
        figure=report(paths.figure("example_units"), category="Figures", caption="../report/example_units.rst"),
    log:
        paths.log("plot_example_units"),
    conda:
        "../../envs/torch.yaml"
    params:
        images_root=config["images"]["root"],
    script:
        "../scripts/plot_example_units.py"


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


rule plot_convergence:
    """Appendix: convergence of MIS in the number of tasks N."""
    input:
        table=rules.analyze_convergence.output.table,
    output:
        figure=report(paths.figure("convergence"), category="Figures", caption="../report/convergence.rst"),
    log:
        paths.log("plot_convergence"),
    conda:
        "../../envs/plots.yaml"
    params:
        labels=MODEL_LABELS,
    script:
        "../scripts/plot_convergence.py"
