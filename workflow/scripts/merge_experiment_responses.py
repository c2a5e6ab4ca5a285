"""Snakemake adapter: the study's session files as the release's two response tables, checks recomputed."""

from mis.experiment import CheckSettings
from mis.experiment.sessions import merge_experiment_responses
from mis.runlog import log_to

log_to(snakemake.log[0])
merge_experiment_responses(
    snakemake.params.responses_dir,
    snakemake.input.trials,
    CheckSettings.from_params(snakemake.params.checks),
    snakemake.output.main,
    snakemake.output.lower_quality,
    snakemake.output.sessions,
)
