"""Snakemake adapter: embed every image once."""

from mis.runlog import log_to
from mis.settings import SimilaritySettings
from mis.stages.embeddings import embed_images

log_to(snakemake.log[0])
embed_images(
    model_name=snakemake.wildcards.model,
    similarity=SimilaritySettings.from_params(snakemake.params.similarity, snakemake.params.run),
    images_root=snakemake.params.images_root,
    manifest_path=snakemake.input.manifest,
    tasks_path=snakemake.input.tasks,
    device=snakemake.params.run["device"],
    threads=snakemake.params.run["threads"],
    cache_dir=snakemake.params.run["cache_dir"],
    receipt_path=snakemake.output.embeddings,
    report_path=snakemake.output.report,
)
