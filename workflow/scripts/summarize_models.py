"""Snakemake adapter: per-model MIS summary."""

from mis.runlog import log_to
from mis.stages.scores import summarize_models

log_to(snakemake.log[0])
summarize_models(list(snakemake.input.units), snakemake.output.summary)
