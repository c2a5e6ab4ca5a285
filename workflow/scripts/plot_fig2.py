"""Snakemake adapter: Fig. 2 (MIS vs IMI human scores)."""

import json

from mis.figures.fig2 import plot
from mis.runlog import log_to
from mis.storage import read_table

log_to(snakemake.log[0])
with open(snakemake.input.summary) as handle:
    summary = json.load(handle)
plot(
    read_table(snakemake.input.units),
    read_table(snakemake.input.models),
    summary,
    snakemake.output.figure,
    similarity_label=snakemake.params.similarity_label,
)
