"""Snakemake adapter: the study's session files as the release's two response tables, checks recomputed."""

from mis.runlog import log_to
from mis.settings import CheckSettings
from mis.stages.experiment import merge_experiment_responses

log_to(snakemake.log[0])
merge_experiment_responses(
    snakemake.params.responses_dir,
    snakemake.input.trials,
    CheckSettings.from_params(snakemake.params.checks),
    snakemake.output.main,
    snakemake.output.lower_quality,
    snakemake.output.sessions,
)
