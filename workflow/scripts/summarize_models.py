"""Snakemake adapter: per-model MIS summary."""

from mis.results import summarize_models
from mis.runlog import log_to

log_to(snakemake.log[0])
summarize_models(list(snakemake.input.units), snakemake.output.summary)
