"""Snakemake adapter: the convergence figure."""

from mis.figures.convergence import plot_convergence
from mis.runlog import log_to
from mis.storage import read_table

log_to(snakemake.log[0])
plot_convergence(read_table(snakemake.input.table), snakemake.output.figure, labels=snakemake.params.labels)
