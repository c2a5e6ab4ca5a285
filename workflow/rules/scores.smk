rule compute_mis:
    """Per-unit MIS and hard accuracy (method.md §3) as a tidy table."""
    input:
        unpack(similarity_inputs),
        tasks=rules.sample_tasks.output.tasks,
        extremes=rules.extract_activations.output.extremes,
        layers=rules.extract_activations.output.layers,
    output:
        units=paths.UNITS,
    log:
        paths.log("compute_mis", "{model}"),
    conda:
        "../../envs/torch.yaml"
    threads: 1 if EMBEDDING_BACKEND else SETTINGS.threads.inference
    resources:
        mem_mb=per_attempt(16000),
        runtime=per_attempt(120),
        gpu=GPUS,
    params:
        scoring=SETTINGS.scoring.params(),
        images_root=IMAGES_ROOT,
        assets=[] if EMBEDDING_BACKEND else [declare_similarity(SETTINGS.scoring.similarity.params())],
        run=job_run(SETTINGS.scoring, cache_dir=EMBEDDING_CACHE),
    script:
        "../scripts/compute_mis.py"


localrules:
    summarize_models,


rule summarize_models:
    """Average per-unit MIS per model, with 5th–95th percentiles and the constant-unit ratio."""
    input:
        units=expand(rules.compute_mis.output.units, model=MODELS),
    output:
        summary=report(paths.MODEL_SUMMARY, category="Tables", caption="../report/models.rst"),
    log:
        paths.log("summarize_models"),
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/summarize_models.py"
