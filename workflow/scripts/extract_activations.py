"""Snakemake adapter: per-unit extremes of one model."""

from mis.runlog import log_to
from mis.settings import ExtractionSettings
from mis.stages.activations import extract_activations

log_to(snakemake.log[0])
extract_activations(
    model_name=snakemake.wildcards.model,
    model_spec=snakemake.params.model_spec,
    settings=ExtractionSettings.from_params(snakemake.params.settings, snakemake.params.run),
    images_root=snakemake.params.images_root,
    manifest_path=snakemake.input.manifest,
    device=snakemake.params.run["device"],
    threads=snakemake.params.run["threads"],
    extremes_path=snakemake.output.extremes,
    layers_path=snakemake.output.layers,
    meta_path=snakemake.output.meta,
    config_key=snakemake.params.config_key,
    dictionaries=snakemake.params.dictionaries,
)
