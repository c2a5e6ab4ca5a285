"""Snakemake adapter: appendix figure of example units."""

from mis.figures.example_units import make_example_units
from mis.runlog import log_to

log_to(snakemake.log[0])
make_example_units(
    models=snakemake.params.models,
    units_paths=list(snakemake.input.units),
    extremes_paths=list(snakemake.input.extremes),
    manifest_path=snakemake.input.manifest,
    images_root=snakemake.params.images_root,
    table_path=snakemake.output.table,
    figure_path=snakemake.output.figure,
)
