rule prepare_images:
    """Index the image set; fails naming any listed file that is missing or empty."""
    output:
        manifest="results/images/manifest.csv",
    log:
        "logs/prepare_images.log",
    conda:
        "../../envs/images.yaml"
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    params:
        images=config["images"],
    script:
        "../scripts/prepare_images.py"
