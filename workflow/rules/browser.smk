localrules:
    build_unit_browser,


rule build_unit_browser:
    """A static unit browser (open results/browser/index.html from disk): per model (and the SAE
    model, whose dictionaries' latents are layers <layer>/<dictionary>), layers and units
    sortable by MIS, hard accuracy, layer and depth; per unit its most and least activating images
    and one 2-AFC task, as small JPEG thumbnails written beside the page."""
    input:
        units=expand(rules.compute_mis.output.units, model=BROWSER_MODELS),
        extremes=expand(rules.extract_activations.output.extremes, model=BROWSER_MODELS),
        tasks=expand(rules.sample_tasks.output.tasks, model=BROWSER_MODELS),
        manifest=rules.prepare_images.output.manifest,
    output:
        browser=directory(paths.BROWSER),
    log:
        paths.log("build_unit_browser"),
    conda:
        "../../envs/torch.yaml"
    threads: 2
    params:
        models=BROWSER_MODELS,
        images_root=IMAGES_ROOT,
        settings=SETTINGS.browser.params(),
        run=job_run(SETTINGS.browser),
    script:
        "../scripts/build_unit_browser.py"
