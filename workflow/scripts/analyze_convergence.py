"""Snakemake adapter: the convergence-in-N table."""

from mis.analysis.convergence import analyze_convergence
from mis.runlog import log_to

log_to(snakemake.log[0])
analyze_convergence(
    models=snakemake.params.models,
    extremes_paths=list(snakemake.input.extremes),
    units_paths=list(snakemake.input.units),
    embeddings_path=snakemake.input.embeddings,
    tasks=snakemake.params.tasks,
    scoring=snakemake.params.scoring,
    table_path=snakemake.output.table,
)
