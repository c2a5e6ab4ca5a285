"""Snakemake adapter: Fig. 5."""

from mis.figures.fig5 import make_fig5
from mis.runlog import log_to

log_to(snakemake.log[0])
make_fig5(list(snakemake.input.units), snakemake.output.table, snakemake.output.pvalues, snakemake.output.figure)
