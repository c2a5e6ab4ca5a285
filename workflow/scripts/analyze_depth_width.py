"""Snakemake adapter: Fig. 6's table."""

from mis.analysis.depth_width import analyze_depth_width
from mis.runlog import log_to

log_to(snakemake.log[0])
analyze_depth_width(list(snakemake.input.units), snakemake.output.table)
