"""Snakemake adapter: MIS convergence in the number of tasks."""

from mis.convergence import write_convergence
from mis.runlog import log_to

log_to(snakemake.log[0])
write_convergence(
    models=snakemake.params.models,
    extremes_paths=list(snakemake.input.extremes),
    units_paths=list(snakemake.input.units),
    embeddings_path=snakemake.input.embeddings,
    n_tasks=snakemake.params.n_tasks,
    n_refs=snakemake.params.n_references,
    alpha=snakemake.params.alpha,
    seed=snakemake.params.seed,
    table_path=snakemake.output.table,
)
