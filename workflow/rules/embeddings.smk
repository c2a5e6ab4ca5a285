rule embed_images:
    """Embed every image once with the similarity backend; every unit and model reuses it."""
    input:
        manifest=rules.prepare_images.output.manifest,
    output:
        embeddings="results/embeddings/{similarity}.npz",
    params:
        similarity=config["similarity"],
        images_root=config["images"]["root"],
        device=config["device"],
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
    log:
        "logs/embed_images/{similarity}.log",
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/embed_images.py"
