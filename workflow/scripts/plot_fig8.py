"""Snakemake adapter: Fig. 8 and its appendix version with every epoch."""

from mis.figures.fig8 import plot
from mis.runlog import log_to
from mis.storage import read_table

log_to(snakemake.log[0])
plot(
    read_table(snakemake.input.layers),
    read_table(snakemake.input.depth),
    snakemake.output.first_epoch,
    snakemake.output.all_epochs,
    model_label=snakemake.params.label,
    similarity_label=snakemake.params.similarity_label,
)
