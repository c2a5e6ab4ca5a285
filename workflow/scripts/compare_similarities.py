"""Snakemake adapter: MIS–HIS correlations of every similarity backend against the noise ceiling."""

from mis.imi.appendix import write_similarity_comparison
from mis.runlog import log_to

log_to(snakemake.log[0])
write_similarity_comparison(
    dict(zip(snakemake.params.names, snakemake.input.units, strict=True)),
    snakemake.params.labels,
    snakemake.params.n_simulations,
    snakemake.params.seed,
    snakemake.output.table,
)
