"""Snakemake adapter: Fig. 8 (first epoch) and its appendix version (every epoch)."""

from mis.figures.fig8 import plot_all_epochs, plot_first_epoch
from mis.runlog import log_to
from mis.storage import read_table

log_to(snakemake.log[0])
layers = read_table(snakemake.input.layers)
labels = {"model_label": snakemake.params.label, "similarity_label": snakemake.params.similarity_label}
plot_first_epoch(layers, snakemake.output.first_epoch, **labels)
plot_all_epochs(layers, snakemake.output.all_epochs, **labels)
