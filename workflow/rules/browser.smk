rule build_unit_browser:
    """A static unit browser (open results/browser/index.html from disk): per model, layers and units
    sortable by MIS, hard accuracy, layer and depth; per unit its most and least activating images
    and one 2-AFC task, as small JPEG thumbnails written beside the page."""
    input:
        units=expand(rules.compute_mis.output.units, model=MODELS),
        extremes=expand(rules.extract_activations.output.extremes, model=MODELS),
        tasks=expand(rules.sample_tasks.output.tasks, model=MODELS),
        manifest=rules.prepare_images.output.manifest,
    output:
        browser=directory("results/browser"),
    log:
        "logs/build_unit_browser.log",
    conda:
        "../../envs/torch.yaml"
    threads: 2
    params:
        models=MODELS,
        images_root=config["images"]["root"],
        # units_with_images: k keeps images for the k highest- and k lowest-MIS units of each layer
        # only (bounds the thumbnails of a paper-scale run); None keeps them for every unit.
        settings={"n_images": 8, "thumbnail": 96, "units_with_images": None},
    script:
        "../scripts/build_unit_browser.py"
