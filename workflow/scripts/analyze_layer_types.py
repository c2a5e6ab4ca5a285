"""Snakemake adapter: Fig. 5's tables."""

from mis.analysis.layer_types import analyze_layer_types
from mis.runlog import log_to

log_to(snakemake.log[0])
analyze_layer_types(list(snakemake.input.units), snakemake.output.table, snakemake.output.pvalues)
