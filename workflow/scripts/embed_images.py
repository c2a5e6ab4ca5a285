"""Snakemake adapter: embed every image once."""

from mis.embeddings import embed_images
from mis.runlog import log_to

log_to(snakemake.log[0])
embed_images(
    model_name=snakemake.wildcards.model,
    similarity={**snakemake.params.similarity, **snakemake.params.run["similarity"]},
    images_root=snakemake.params.images_root,
    manifest_path=snakemake.input.manifest,
    tasks_path=snakemake.input.tasks,
    device=snakemake.params.run["device"],
    threads=snakemake.params.run["threads"],
    cache_dir=snakemake.params.run["cache_dir"],
    receipt_path=snakemake.output.embeddings,
    report_path=snakemake.output.report,
)
