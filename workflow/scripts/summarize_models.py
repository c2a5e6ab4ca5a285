"""Snakemake adapter: per-model MIS summary."""

from mis.results import write_model_summary
from mis.runlog import log_to

log_to(snakemake.log[0])
write_model_summary(list(snakemake.input.units), snakemake.output.summary)
