"""Snakemake adapter: the study's units (easiest, hardest, random, or the user's CSV) and the practice units."""

from mis.runlog import log_to
from mis.settings import DesignSettings
from mis.stages.experiment import select_study_units

log_to(snakemake.log[0])
select_study_units(
    list(snakemake.input.units),
    list(snakemake.params.models),
    DesignSettings.from_params(snakemake.params.design),
    snakemake.params.units_csv,
    snakemake.output.table,
)
