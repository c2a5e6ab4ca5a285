rule plot_fig3:
    """Fig. 3: models sorted by average per-unit MIS, with the 5th–95th percentile band."""
    input:
        summary=rules.summarize_models.output.summary,
    output:
        figure=report("figures/fig3.pdf", category="Figures", caption="../report/fig3.rst"),
    params:
        similarity_label=config["similarity"]["label"],
        labels=MODEL_LABELS,
    log:
        "logs/plot_fig3.log",
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/plot_fig3.py"


rule plot_convergence:
    """Appendix: convergence of MIS in the number of tasks N."""
    input:
        table=rules.analyze_convergence.output.table,
    output:
        figure=report("figures/convergence.pdf", category="Figures", caption="../report/convergence.rst"),
    params:
        labels=MODEL_LABELS,
    log:
        "logs/plot_convergence.log",
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/plot_convergence.py"
