rule embed_images:
    """Embed every image that the model's tasks use: taken from the store (shared by every model,
    run and config of the backend and image root) or embedded once into it; a receipt of which."""
    input:
        manifest=rules.prepare_images.output.manifest,
        tasks=rules.sample_tasks.output.tasks,
    output:
        embeddings=paths.EMBEDDINGS,
        report=paths.EMBEDDING_REPORT,
    log:
        paths.log("embed_images", "{similarity}/{model}"),
    conda:
        "../../envs/torch.yaml"
    threads: SETTINGS.threads.inference
    resources:
        mem_mb=per_attempt(16000),
        runtime=per_attempt(240),
        gpu=GPUS,
    params:
        similarity=SETTINGS.scoring.similarity.params(),
        images_root=IMAGES_ROOT,
        assets=[declare_similarity(SETTINGS.scoring.similarity.params())],
        run=job_run(SETTINGS.scoring.similarity, cache_dir=EMBEDDING_CACHE),
    script:
        "../scripts/embed_images.py"
