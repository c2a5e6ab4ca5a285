rule extract_activations:
    """Top and bottom N·(K+1) images per unit, for every layer of interest, in one streamed pass."""
    input:
        manifest=rules.prepare_images.output.manifest,
        checkpoint=training_checkpoint_input,
    output:
        extremes="results/activations/{model}/extremes.npz",
        layers="results/activations/{model}/layers.csv",
        meta="results/activations/{model}/meta.json",
    log:
        "logs/extract_activations/{model}.log",
    conda:
        "../../envs/torch.yaml"
    threads: 8
    resources:
        mem_mb=per_attempt(16000),
        runtime=per_attempt(480),
        gpu=GPUS,
    params:
        model_spec=lambda wc: ALL_MODEL_SPECS[wc.model],
        config_key=lambda wc: model_config_key(wc.model),
        extraction=config["extraction"],
        images_root=config["images"]["root"],
        k=IMAGES_PER_SIDE,
        n_near=TASKS["n_tasks"],
        device=config["device"],
    script:
        "../scripts/extract_activations.py"
