"""Snakemake adapter: the static unit browser."""

from mis.runlog import log_to
from mis.settings import BrowserSettings
from mis.stages.browser import build_unit_browser

log_to(snakemake.log[0])
build_unit_browser(
    models=snakemake.params.models,
    units_paths=list(snakemake.input.units),
    extremes_paths=list(snakemake.input.extremes),
    tasks_paths=list(snakemake.input.tasks),
    manifest_path=snakemake.input.manifest,
    images_root=snakemake.params.images_root,
    out_dir=snakemake.output.browser,
    settings=BrowserSettings.from_params(snakemake.params.settings, {"num_workers": snakemake.params.run["threads"]}),
)
