"""Snakemake adapter: the IMI units whose MIS overestimates HIS most."""

from mis.imi.appendix import find_overestimated_units
from mis.runlog import log_to

log_to(snakemake.log[0])
find_overestimated_units(snakemake.input.units, snakemake.input.trials, snakemake.params.n, snakemake.output.table)
