"""Snakemake adapter: the browser study as a static jsPsych site."""

from mis.runlog import log_to
from mis.settings import CheckSettings, PageSettings
from mis.stages.experiment import build_experiment

log_to(snakemake.log[0])
build_experiment(
    snakemake.input.trials,
    list(snakemake.params.models),
    list(snakemake.input.units),
    list(snakemake.input.tasks),
    snakemake.input.manifest,
    snakemake.params.images_root,
    snakemake.output.site,
    PageSettings.from_params(snakemake.params.page, snakemake.params.run),
    CheckSettings.from_params(snakemake.params.checks),
)
