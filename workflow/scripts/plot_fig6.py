"""Snakemake adapter: Fig. 6."""

from mis.figures.fig6 import plot
from mis.runlog import log_to
from mis.storage import read_table

log_to(snakemake.log[0])
plot(read_table(snakemake.input.table), snakemake.output.figure)
