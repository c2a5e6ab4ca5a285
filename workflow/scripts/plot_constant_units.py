"""Snakemake adapter: the constant-unit appendix figure."""

from mis.figures.constant_units import plot
from mis.runlog import log_to
from mis.storage import read_table

log_to(snakemake.log[0])
plot(read_table(snakemake.input.summary), snakemake.output.figure, snakemake.params.labels)
