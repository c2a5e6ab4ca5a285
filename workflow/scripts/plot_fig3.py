"""Snakemake adapter: Fig. 3."""

from mis.figures.fig3 import plot
from mis.runlog import log_to
from mis.storage import read_table

log_to(snakemake.log[0])
plot(
    read_table(snakemake.input.summary),
    snakemake.output.figure,
    similarity_label=snakemake.params.similarity_label,
    labels=snakemake.params.labels,
    highlight=snakemake.params.highlight,
)
