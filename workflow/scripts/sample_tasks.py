"""Snakemake adapter: fair-batches tasks of one model."""

from mis.runlog import log_to
from mis.tasks import write_tasks

log_to(snakemake.log[0])
write_tasks(
    model=snakemake.wildcards.model,
    extremes_path=snakemake.input.extremes,
    n_tasks=snakemake.params.n_tasks,
    n_refs=snakemake.params.n_references,
    seed=snakemake.params.seed,
    tasks_path=snakemake.output.tasks,
)
