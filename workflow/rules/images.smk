rule prepare_images:
    """Index the image set; fails naming any listed file that is missing or empty, or a set too
    small for the tasks. Re-runs (and so does everything after it) when the image set changes:
    `image_set` is a hash of every image file's path, size and modification time."""
    output:
        manifest=paths.MANIFEST,
    log:
        paths.log("prepare_images"),
    conda:
        "../../envs/images.yaml"
    resources:
        mem_mb=per_attempt(4000),
        runtime=per_attempt(60),
    params:
        images=SETTINGS.images.params(),
        image_set=lambda wildcards: image_set_signature(SETTINGS.images),
        assets=image_assets(SETTINGS.images),
    script:
        "../scripts/prepare_images.py"
