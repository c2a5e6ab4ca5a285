"""Snakemake adapter: Fig. 6."""

from mis.figures.fig6 import make_fig6
from mis.runlog import log_to

log_to(snakemake.log[0])
make_fig6(list(snakemake.input.units), snakemake.output.table, snakemake.output.figure)
