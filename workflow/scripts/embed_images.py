"""Snakemake adapter: embed every image once."""

from mis.runlog import log_to
from mis.stages import embed_images

log_to(snakemake.log[0])
embed_images(
    similarity={**snakemake.params.similarity, **snakemake.params.run["similarity"]},
    images_root=snakemake.params.images_root,
    manifest_path=snakemake.input.manifest,
    tasks_paths=list(snakemake.input.tasks),
    device=snakemake.params.run["device"],
    threads=snakemake.params.run["threads"],
    cache_dir=snakemake.params.run["cache_dir"],
    embeddings_path=snakemake.output.embeddings,
    report_path=snakemake.output.report,
)
