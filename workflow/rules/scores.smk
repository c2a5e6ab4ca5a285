rule compute_mis:
    """Per-unit MIS and hard accuracy (method.md §3) as a tidy table."""
    input:
        tasks=rules.sample_tasks.output.tasks,
        embeddings=f"results/embeddings/{SIMILARITY}.npz",
        extremes=rules.extract_activations.output.extremes,
        layers=rules.extract_activations.output.layers,
    output:
        units="results/mis/{model}/units.parquet",
    params:
        mis=config["mis"],
        device=config["device"],
    log:
        "logs/compute_mis/{model}.log",
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/compute_mis.py"


rule summarize_models:
    """Average per-unit MIS per model, with 5th–95th percentiles and the constant-unit ratio."""
    input:
        units=expand(rules.compute_mis.output.units, model=MODELS),
    output:
        summary="results/mis/models.csv",
    log:
        "logs/summarize_models.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/summarize_models.py"
