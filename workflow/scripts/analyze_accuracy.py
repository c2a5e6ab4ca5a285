"""Snakemake adapter: Fig. 4's tables."""

from mis.runlog import log_to
from mis.stages.analysis import analyze_accuracy

log_to(snakemake.log[0])
analyze_accuracy(
    summary_path=snakemake.input.summary,
    models=snakemake.params.models,
    units_paths=list(snakemake.input.units),
    accuracy_path=snakemake.params.accuracy_table,
    n_density_models=snakemake.params.n_density_models,
    seed=snakemake.params.seed,
    table_path=snakemake.output.table,
    densities_path=snakemake.output.densities,
    kde_path=snakemake.output.kde,
    correlation_path=snakemake.output.correlation,
)
