"""Snakemake adapter: Fig. 4."""

from mis.figures.fig4 import make_fig4
from mis.runlog import log_to

log_to(snakemake.log[0])
make_fig4(
    summary_path=snakemake.input.summary,
    models=snakemake.params.models,
    units_paths=list(snakemake.input.units),
    accuracy_path=snakemake.input.accuracy,
    n_density_models=snakemake.params.n_density_models,
    seed=snakemake.params.seed,
    table_path=snakemake.output.table,
    figure_path=snakemake.output.figure,
    labels=snakemake.params.labels,
)
