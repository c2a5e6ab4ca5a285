"""Snakemake adapter: the study's units (easiest, hardest, random, or the user's CSV) and the practice units."""

from mis.experiment import DesignSettings
from mis.experiment.design import select_study_units
from mis.runlog import log_to

log_to(snakemake.log[0])
select_study_units(
    list(snakemake.input.units),
    list(snakemake.params.models),
    DesignSettings.from_params(snakemake.params.design),
    snakemake.params.units_csv,
    snakemake.output.table,
)
