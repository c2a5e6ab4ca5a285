"""Snakemake adapter: the example units of the appendix figure."""

from mis.runlog import log_to
from mis.stages.analysis import select_example_units

log_to(snakemake.log[0])
select_example_units(
    models=snakemake.params.models,
    units_paths=list(snakemake.input.units),
    extremes_paths=list(snakemake.input.extremes),
    manifest_path=snakemake.input.manifest,
    n_images=snakemake.params.n_images,
    table_path=snakemake.output.table,
    images_path=snakemake.output.images,
)
