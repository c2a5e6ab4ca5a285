rule sample_tasks:
    """Fair-batches 2-AFC tasks per unit (method.md §2), seeded by config seed and model name."""
    input:
        extremes=rules.extract_activations.output.extremes,
    output:
        tasks=paths.TASKS,
    log:
        paths.log("sample_tasks", "{model}"),
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    params:
        settings=SETTINGS.tasks.params(),
    script:
        "../scripts/sample_tasks.py"
