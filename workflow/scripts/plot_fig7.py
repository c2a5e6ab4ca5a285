"""Snakemake adapter: Fig. 7."""

from mis.figures.fig7 import plot
from mis.runlog import log_to
from mis.storage import read_table

log_to(snakemake.log[0])
plot(
    read_table(snakemake.input.epochs),
    read_table(snakemake.input.correlation),
    snakemake.output.figure,
    model_label=snakemake.params.label,
    similarity_label=snakemake.params.similarity_label,
)
