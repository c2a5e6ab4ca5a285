"""Snakemake adapter: IMI units joined with the project's own per-unit MIS of the same models."""

from mis.runlog import log_to
from mis.stages.imi import join_imi_units

log_to(snakemake.log[0])
join_imi_units(
    snakemake.input.imi_units,
    snakemake.params.specs,
    dict(zip(snakemake.params.models, snakemake.input.units, strict=True)),
    snakemake.output.table,
    snakemake.output.summary,
)
