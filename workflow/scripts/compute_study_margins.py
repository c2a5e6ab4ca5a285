"""Snakemake adapter: the study units' task margins, for the α fit."""

from mis.runlog import log_to
from mis.settings import SimilaritySettings
from mis.stages.experiment import compute_study_margins

log_to(snakemake.log[0])
params = snakemake.params
compute_study_margins(
    study_path=snakemake.input.study,
    models=params.models,
    units_paths=list(snakemake.input.units),
    tasks_paths=list(snakemake.input.tasks),
    embeddings_paths=list(snakemake.input.get("embeddings", [])) or None,
    similarity=SimilaritySettings.from_params(params.similarity, params.run),
    cache_dir=params.run["cache_dir"],
    images_root=params.images_root,
    manifest_path=snakemake.input.get("manifest"),
    device=params.run["device"],
    tasks_per_unit=params.tasks_per_unit,
    path=snakemake.output.margins,
)
