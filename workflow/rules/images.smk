rule prepare_images:
    """Index the image set; fails naming any listed file that is missing or empty."""
    output:
        manifest="results/images/manifest.csv",
    params:
        images=config["images"],
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    log:
        "logs/prepare_images.log",
    conda:
        "../../envs/images.yaml"
    script:
        "../scripts/prepare_images.py"
