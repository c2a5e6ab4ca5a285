"""Snakemake adapter: activation vectors of the SAE layer, sampled over the image set."""

from mis.runlog import log_to
from mis.sae.stages import sample_sae_vectors

log_to(snakemake.log[0])
sample_sae_vectors(
    model_spec=snakemake.params.model_spec,
    layer_name=snakemake.params.layer,
    n_vectors=snakemake.params.n_vectors,
    seed=snakemake.params.seed,
    images_root=snakemake.params.images_root,
    manifest_path=snakemake.input.manifest,
    device=snakemake.params.device,
    threads=snakemake.threads,
    batch_size=snakemake.params.batch_size,
    num_workers=snakemake.params.num_workers,
    vectors_path=snakemake.output.vectors,
)
