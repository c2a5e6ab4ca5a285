rule embed_images:
    """Embed every image that some model's tasks use, once per backend: cached images are reused
    across units, models and runs, and only new ones are embedded."""
    input:
        manifest=rules.prepare_images.output.manifest,
        tasks=expand(rules.sample_tasks.output.tasks, model=ALL_MODELS),
    output:
        embeddings=paths.EMBEDDINGS,
        report=paths.EMBEDDING_REPORT,
    log:
        paths.log("embed_images", "{similarity}"),
    conda:
        "../../envs/torch.yaml"
    threads: SETTINGS.threads.inference
    resources:
        mem_mb=per_attempt(16000),
        runtime=per_attempt(240),
        gpu=GPUS,
    params:
        similarity=SETTINGS.scoring.params()["similarity"],
        images_root=config["images"]["root"],
        run=job_run(SETTINGS.scoring, cache_dir=EMBEDDING_CACHE),
    script:
        "../scripts/embed_images.py"
