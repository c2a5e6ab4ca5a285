rule compute_mis:
    """Per-unit MIS and hard accuracy (method.md §3) as a tidy table."""
    input:
        unpack(similarity_inputs),
        tasks=rules.sample_tasks.output.tasks,
        extremes=rules.extract_activations.output.extremes,
        layers=rules.extract_activations.output.layers,
    output:
        units="results/mis/{model}/units.parquet",
    log:
        "logs/compute_mis/{model}.log",
    conda:
        "../../envs/torch.yaml"
    threads: 4
    resources:
        mem_mb=per_attempt(16000),
        runtime=per_attempt(120),
        gpu=GPUS,
    params:
        similarity=config["similarity"],
        images_root=config["images"]["root"],
        mis=config["mis"],
        device=config["device"],
    script:
        "../scripts/compute_mis.py"


rule summarize_models:
    """Average per-unit MIS per model, with 5th–95th percentiles and the constant-unit ratio."""
    input:
        units=expand(rules.compute_mis.output.units, model=MODELS),
    output:
        summary=report("results/mis/models.csv", category="Tables", caption="../report/models.rst"),
    log:
        "logs/summarize_models.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/summarize_models.py"


rule analyze_convergence:
    """Appendix: mean |MIS(n) − MIS(N)| over units for n = 1 … N tasks, in both sampling scenarios."""
    input:
        extremes=expand(rules.extract_activations.output.extremes, model=MODELS),
        units=expand(rules.compute_mis.output.units, model=MODELS),
        embeddings=f"results/embeddings/{SIMILARITY}.npz",
    output:
        table="results/mis/convergence.csv",
    log:
        "logs/analyze_convergence.log",
    conda:
        "../../envs/torch.yaml"
    threads: 4
    resources:
        mem_mb=per_attempt(16000),
        runtime=per_attempt(60),
    params:
        models=MODELS,
        n_tasks=TASKS["n_tasks"],
        n_references=TASKS["n_references"],
        alpha=config["mis"]["alpha"],
        seed=config["seed"],
    script:
        "../scripts/analyze_convergence.py"
