"""Snakemake adapter: appendix figure of constant units."""

from mis.figures.constant_units import make_constant_ratio
from mis.runlog import log_to

log_to(snakemake.log[0])
make_constant_ratio(snakemake.input.summary, snakemake.output.figure, snakemake.params.labels)
