"""Snakemake adapter: the example-units appendix figure."""

from mis.figures.example_units import plot
from mis.runlog import log_to
from mis.storage import read_table

log_to(snakemake.log[0])
plot(
    read_table(snakemake.input.table),
    read_table(snakemake.input.images),
    snakemake.params.images_root,
    snakemake.output.figure,
)
