"""Snakemake adapter: appendix figure of the units where MIS overestimates HIS most."""

from mis.figures.overestimated_units import plot
from mis.runlog import log_to
from mis.storage import read_table

log_to(snakemake.log[0])
plot(read_table(snakemake.input.table), snakemake.params.image_root, snakemake.output.figure)
