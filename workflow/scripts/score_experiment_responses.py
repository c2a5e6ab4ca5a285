"""Snakemake adapter: tidy main trials, per-unit HIS and model counts of a merged study table (IMI code)."""

from mis.runlog import log_to
from mis.stages.experiment import score_experiment_responses

log_to(snakemake.log[0])
score_experiment_responses(
    snakemake.input.responses,
    snakemake.params.ci_level,
    snakemake.output.trials,
    snakemake.output.his,
    snakemake.output.models,
)
