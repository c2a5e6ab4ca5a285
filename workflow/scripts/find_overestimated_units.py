"""Snakemake adapter: the IMI units whose MIS overestimates HIS most."""

from mis.runlog import log_to
from mis.stages.imi import find_overestimated_units

log_to(snakemake.log[0])
params = snakemake.params
find_overestimated_units(
    snakemake.input.units,
    snakemake.input.trials,
    snakemake.input.files,
    params.trials_from,
    params.imagenet_train,
    params.stimuli_dir,
    params.n,
    snakemake.output.table,
)
