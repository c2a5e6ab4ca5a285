"""Snakemake adapter: every participant's trial list of the browser study."""

from mis.runlog import log_to
from mis.settings import DesignSettings
from mis.stages.experiment import assign_study_trials

log_to(snakemake.log[0])
assign_study_trials(
    snakemake.input.units,
    DesignSettings.from_params(snakemake.params.design),
    snakemake.params.n_tasks,
    snakemake.output.trials,
)
