"""Snakemake adapter: the highest- and lowest-MIS units of each model (Fig. 2C selection)."""

from mis.imi.selection import select_extreme_units
from mis.runlog import log_to

log_to(snakemake.log[0])
select_extreme_units(list(snakemake.input.units), snakemake.params.n, snakemake.output.table)
