"""Snakemake adapter: Fig. 2C (HIS of the units chosen by MIS, MIS vs HIS)."""

from mis.figures.fig2c import plot
from mis.runlog import log_to
from mis.storage import read_table

log_to(snakemake.log[0])
plot(
    read_table(snakemake.input.groups),
    read_table(snakemake.input.tests),
    read_table(snakemake.input.units),
    snakemake.output.figure,
    labels=dict(snakemake.params.labels),
)
