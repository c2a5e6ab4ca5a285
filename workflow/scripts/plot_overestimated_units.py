"""Snakemake adapter: appendix figure of the units where MIS overestimates HIS most."""

from mis.figures.overestimated_units import plot_overestimated_units
from mis.runlog import log_to
from mis.storage import read_table

log_to(snakemake.log[0])
plot_overestimated_units(read_table(snakemake.input.table), snakemake.params.image_root, snakemake.output.figure)
