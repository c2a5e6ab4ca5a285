"""Snakemake adapter: tidy main trials and per-unit human interpretability score of one IMI table."""

from mis.imi.responses import write_human_scores
from mis.runlog import log_to

log_to(snakemake.log[0])
write_human_scores(
    responses_path=snakemake.params.responses,
    level=snakemake.params.ci_level,
    trials_path=snakemake.output.trials,
    his_path=snakemake.output.his,
)
