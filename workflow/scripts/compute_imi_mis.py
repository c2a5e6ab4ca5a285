"""Snakemake adapter: task margins and MIS of the IMI units from the images humans saw."""

from mis.imi.release import FILE_MAP, dataset_path
from mis.imi.scores import compute_imi_mis, load_units
from mis.runlog import log_to
from mis.settings import ScoringSettings

log_to(snakemake.log[0])
params = snakemake.params
file_map = (
    dataset_path(snakemake.input.files, FILE_MAP)
    if params.trials_from == "file_map" or not params.stimuli_dir
    else None
)
units, root = load_units(
    params.trials_from,
    params.conditions,
    file_map=file_map,
    imagenet_train=params.imagenet_train,
    stimuli_dir=params.stimuli_dir or file_map.parent,
    pattern=params.pattern,
)
compute_imi_mis(
    units,
    root,
    snakemake.input.human,
    params.conditions,
    ScoringSettings.from_params({"similarity": params.similarity, "alpha": params.alpha}, params.run),
    params.run["device"],
    params.run["threads"],
    dict(snakemake.output.items()),
)
