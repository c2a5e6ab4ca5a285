"""Snakemake adapter: Fig. 5's tables."""

from mis.runlog import log_to
from mis.stages.analysis import analyze_layer_types

log_to(snakemake.log[0])
analyze_layer_types(list(snakemake.input.units), snakemake.output.table, snakemake.output.pvalues)
