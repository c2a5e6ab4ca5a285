"""Snakemake adapter: the convergence-in-N table."""

from mis.runlog import log_to
from mis.settings import TaskSettings
from mis.stages.analysis import analyze_convergence

log_to(snakemake.log[0])
analyze_convergence(
    models=snakemake.params.models,
    extremes_paths=list(snakemake.input.extremes),
    units_paths=list(snakemake.input.units),
    embeddings_paths=list(snakemake.input.embeddings),
    cache_dir=snakemake.params.run["cache_dir"],
    tasks=TaskSettings.from_params(snakemake.params.tasks),
    alpha=snakemake.params.alpha,
    table_path=snakemake.output.table,
)
