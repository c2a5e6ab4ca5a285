"""Snakemake adapter: the tables of Fig. 3 and of the constant units."""

from mis.runlog import log_to
from mis.stages.analysis import analyze_models

log_to(snakemake.log[0])
analyze_models(
    snakemake.input.summary,
    snakemake.params.labels,
    snakemake.params.highlight,
    snakemake.output.fig3,
    snakemake.output.constant_units,
)
