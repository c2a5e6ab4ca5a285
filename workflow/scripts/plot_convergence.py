"""Snakemake adapter: the convergence-in-N appendix figure."""

from mis.figures.convergence import plot
from mis.runlog import log_to
from mis.storage import read_table

log_to(snakemake.log[0])
plot(read_table(snakemake.input.table), snakemake.output.figure, labels=snakemake.params.labels)
