"""Snakemake adapter: per-unit MIS of one model."""

from mis.runlog import log_to
from mis.settings import ScoringSettings
from mis.stages.scores import compute_mis

log_to(snakemake.log[0])
compute_mis(
    model_name=snakemake.wildcards.model,
    tasks_path=snakemake.input.tasks,
    extremes_path=snakemake.input.extremes,
    layers_path=snakemake.input.layers,
    scoring=ScoringSettings.from_params(snakemake.params.scoring, snakemake.params.run),
    embeddings_path=snakemake.input.get("embeddings"),
    cache_dir=snakemake.params.run["cache_dir"],
    images_root=snakemake.params.images_root,
    manifest_path=snakemake.input.get("manifest"),
    device=snakemake.params.run["device"],
    units_path=snakemake.output.units,
)
