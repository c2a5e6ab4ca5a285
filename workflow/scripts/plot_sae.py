"""Snakemake adapter: the SAE appendix figure."""

from mis.figures.sae import plot
from mis.runlog import log_to
from mis.storage import read_table

log_to(snakemake.log[0])
plot(
    read_table(snakemake.input.table),
    read_table(snakemake.input.unit_mis),
    snakemake.output.figure,
    model_label=snakemake.params.label,
    layer=snakemake.params.layer,
    similarity_label=snakemake.params.similarity_label,
)
