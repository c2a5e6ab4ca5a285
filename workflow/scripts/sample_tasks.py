"""Snakemake adapter: fair-batches tasks of one model."""

from mis.runlog import log_to
from mis.settings import TaskSettings
from mis.stages.tasks import sample_tasks

log_to(snakemake.log[0])
sample_tasks(
    model=snakemake.wildcards.model,
    extremes_path=snakemake.input.extremes,
    settings=TaskSettings.from_params(snakemake.params.settings),
    tasks_path=snakemake.output.tasks,
)
