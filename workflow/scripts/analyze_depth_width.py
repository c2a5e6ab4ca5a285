"""Snakemake adapter: Fig. 6's tables."""

from mis.runlog import log_to
from mis.stages.analysis import analyze_depth_width

log_to(snakemake.log[0])
analyze_depth_width(list(snakemake.input.units), snakemake.output.table, snakemake.output.bins)
