"""Snakemake adapter: appendix figure, similarity backends against the noise ceiling."""

from mis.figures.similarity_comparison import plot
from mis.runlog import log_to
from mis.storage import read_table

log_to(snakemake.log[0])
plot(read_table(snakemake.input.table), snakemake.output.figure)
