"""Snakemake adapter: fit α on IMI units and validate MIS against human scores on held-out units."""

from mis.runlog import log_to
from mis.settings import ValidationSettings
from mis.stages.imi import fit_alpha

log_to(snakemake.log[0])
fit_alpha(
    his_path=snakemake.input.his,
    margins_path=snakemake.input.margins,
    conditions=snakemake.params.conditions,
    settings=ValidationSettings.from_params(snakemake.params.settings),
    summary_path=snakemake.output.summary,
    units_path=snakemake.output.units,
    models_path=snakemake.output.models,
    study=(snakemake.input.study_his, snakemake.input.study_margins) if "study_his" in snakemake.input.keys() else None,
)
