"""Snakemake adapter: Fig. 5."""

from mis.figures.fig5 import plot
from mis.runlog import log_to
from mis.storage import read_table

log_to(snakemake.log[0])
plot(read_table(snakemake.input.table), read_table(snakemake.input.pvalues), snakemake.output.figure)
