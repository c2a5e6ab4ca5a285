rule plot_fig3:
    """Fig. 3: models sorted by average per-unit MIS, with the 5th–95th percentile band."""
    input:
        summary=rules.summarize_models.output.summary,
    output:
        figure=report("figures/fig3.pdf", category="Figures", caption="../report/fig3.rst"),
    log:
        "logs/plot_fig3.log",
    conda:
        "../../envs/plots.yaml"
    params:
        similarity_label=config["similarity"]["label"],
        labels=MODEL_LABELS,
        highlight=config["highlight_models"],
    script:
        "../scripts/plot_fig3.py"


rule plot_convergence:
    """Appendix: convergence of MIS in the number of tasks N."""
    input:
        table=rules.analyze_convergence.output.table,
    output:
        figure=report("figures/convergence.pdf", category="Figures", caption="../report/convergence.rst"),
    log:
        "logs/plot_convergence.log",
    conda:
        "../../envs/plots.yaml"
    params:
        labels=MODEL_LABELS,
    script:
        "../scripts/plot_convergence.py"


rule plot_fig4:
    """Fig. 4: ImageNet top-1 accuracy vs average MIS; per-unit MIS densities."""
    input:
        summary=rules.summarize_models.output.summary,
        units=expand(rules.compute_mis.output.units, model=MODELS),
        accuracy=ACCURACY_TABLE,
    output:
        table="results/analysis/fig4.csv",
        figure=report("figures/fig4.pdf", category="Figures", caption="../report/fig4.rst"),
    log:
        "logs/plot_fig4.log",
    conda:
        "../../envs/plots.yaml"
    params:
        models=MODELS,
        n_density_models=15,
        seed=config["seed"],
        labels=MODEL_LABELS,
    script:
        "../scripts/plot_fig4.py"


rule plot_fig5:
    """Fig. 5: MIS by layer type with Holm-corrected Conover tests."""
    input:
        units=expand(rules.compute_mis.output.units, model=MODELS),
    output:
        table="results/analysis/fig5.csv",
        pvalues="results/analysis/fig5_conover_holm.csv",
        figure=report("figures/fig5.pdf", category="Figures", caption="../report/fig5.rst"),
    log:
        "logs/plot_fig5.log",
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/plot_fig5.py"


rule plot_fig6:
    """Fig. 6: MIS vs relative depth and width, per layer type."""
    input:
        units=expand(rules.compute_mis.output.units, model=MODELS),
    output:
        table="results/analysis/fig6.csv",
        figure=report("figures/fig6.pdf", category="Figures", caption="../report/fig6.rst"),
    log:
        "logs/plot_fig6.log",
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/plot_fig6.py"


rule plot_constant_units:
    """Appendix: the constant-unit ratio per model."""
    input:
        summary=rules.summarize_models.output.summary,
    output:
        figure=report("figures/constant_units.pdf", category="Figures", caption="../report/constant_units.rst"),
    log:
        "logs/plot_constant_units.log",
    conda:
        "../../envs/plots.yaml"
    params:
        labels=MODEL_LABELS,
    script:
        "../scripts/plot_constant_units.py"


rule plot_example_units:
    """Appendix: most and least activating images of each model's highest- and lowest-MIS unit."""
    input:
        units=expand(rules.compute_mis.output.units, model=MODELS),
        extremes=expand(rules.extract_activations.output.extremes, model=MODELS),
        manifest=rules.prepare_images.output.manifest,
    output:
        table="results/analysis/example_units.csv",
        figure=report("figures/example_units.pdf", category="Figures", caption="../report/example_units.rst"),
    log:
        "logs/plot_example_units.log",
    conda:
        "../../envs/torch.yaml"
    params:
        models=MODELS,
        images_root=config["images"]["root"],
    script:
        "../scripts/plot_example_units.py"
