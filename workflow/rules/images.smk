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
        images=config["images"],
        image_set=lambda wildcards: image_set_signature(config["images"]),
        assets=[declare_folder("images.root", config["images"]["root"], "image folder", "set images.root")]
        + (
            [declare_file("images.file_list", config["images"]["file_list"], "file list", "set images.file_list")]
            if config["images"].get("file_list")
            else []
        ),
    script:
        "../scripts/prepare_images.py"
