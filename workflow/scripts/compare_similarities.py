"""Snakemake adapter: MIS–HIS correlations of every similarity backend against the noise ceiling."""

from mis.runlog import log_to
from mis.stages.imi import compare_similarities

log_to(snakemake.log[0])
compare_similarities(
    dict(zip(snakemake.params.names, snakemake.input.units, strict=True)),
    snakemake.params.labels,
    snakemake.params.n_simulations,
    snakemake.params.seed,
    snakemake.output.table,
)
