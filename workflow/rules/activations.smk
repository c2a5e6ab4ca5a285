rule extract_activations:
    """Top and bottom N·(K+1) images per unit, for every layer of interest, in one streamed pass (for
    an SAE model: its layer's channels and every dictionary's latents)."""
    input:
        manifest=rules.prepare_images.output.manifest,
        checkpoint=training_checkpoint_input,
        dictionaries=lambda wc: trained_dictionaries(wc.model),
    output:
        extremes=paths.EXTREMES,
        layers=paths.LAYERS,
        meta=paths.EXTRACTION_META,
    log:
        paths.log("extract_activations", "{model}"),
    conda:
        "../../envs/torch.yaml"
    threads: SETTINGS.threads.inference
    resources:
        mem_mb=per_attempt(16000),
        runtime=per_attempt(480),
        gpu=GPUS,
    params:
        model_spec=lambda wc: ALL_MODEL_SPECS[wc.model],
        config_key=lambda wc: model_config_key(wc.model),
        settings=lambda wc: extraction_settings(wc.model).params(),
        dictionaries=lambda wc: SAE_DICTIONARIES.get(wc.model, {}),
        images_root=IMAGES_ROOT,
        assets=lambda wc: model_assets(wc.model),
        run=job_run(SETTINGS.extraction),
    script:
        "../scripts/extract_activations.py"
