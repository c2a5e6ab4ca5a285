"""Snakemake adapter: the highest- and lowest-MIS units of each model (Fig. 2C selection)."""

from mis.runlog import log_to
from mis.stages.imi import select_extreme_units

log_to(snakemake.log[0])
select_extreme_units(list(snakemake.input.units), snakemake.params.n, snakemake.output.table)
