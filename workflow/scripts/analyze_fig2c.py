"""Snakemake adapter: Fig. 2C's tables (groups, tests, units)."""

from mis.runlog import log_to
from mis.stages.experiment import analyze_fig2c

log_to(snakemake.log[0])
analyze_fig2c(
    snakemake.input.his,
    snakemake.input.units,
    snakemake.input.imi_units or None,
    snakemake.params.n_bootstrap,
    snakemake.params.ci_level,
    snakemake.params.seed,
    snakemake.output.groups,
    snakemake.output.tests,
    snakemake.output.units,
)
