rule sample_tasks:
    """Fair-batches 2-AFC tasks per unit (method.md §2), seeded by config seed and model name."""
    input:
        extremes=rules.extract_activations.output.extremes,
    output:
        tasks="results/tasks/{model}.npz",
    log:
        "logs/sample_tasks/{model}.log",
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    params:
        n_tasks=TASKS["n_tasks"],
        n_references=TASKS["n_references"],
        seed=config["seed"],
    script:
        "../scripts/sample_tasks.py"
