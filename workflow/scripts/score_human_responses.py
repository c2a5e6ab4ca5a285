"""Snakemake adapter: tidy main trials, per-unit human interpretability score and model counts of one IMI table."""

from mis.imi.release import dataset_path
from mis.runlog import log_to
from mis.stages.imi import score_human_responses

log_to(snakemake.log[0])
score_human_responses(
    responses_path=dataset_path(snakemake.input.files, snakemake.params.responses),
    level=snakemake.params.ci_level,
    trials_path=snakemake.output.trials,
    his_path=snakemake.output.his,
    models_path=snakemake.output.models,
)
