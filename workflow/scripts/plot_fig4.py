"""Snakemake adapter: Fig. 4."""

from mis.figures.fig4 import plot
from mis.runlog import log_to
from mis.storage import read_table

log_to(snakemake.log[0])
tables = {name: read_table(snakemake.input[name]) for name in ("table", "densities", "correlation")}
plot(**tables, path=snakemake.output.figure, labels=snakemake.params.labels)
