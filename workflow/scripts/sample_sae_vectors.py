"""Snakemake adapter: activation vectors of the SAE layer, sampled over the image set."""

from mis.runlog import log_to
from mis.stages.sae import sample_sae_vectors

log_to(snakemake.log[0])
sample_sae_vectors(
    model_spec=snakemake.params.model_spec,
    layer_name=snakemake.params.layer,
    n_vectors=snakemake.params.n_vectors,
    seed=snakemake.params.seed,
    images_root=snakemake.params.images_root,
    manifest_path=snakemake.input.manifest,
    device=snakemake.params.run["device"],
    threads=snakemake.params.run["threads"],
    batch_size=snakemake.params.run["batch_size"],
    num_workers=snakemake.params.run["num_workers"],
    decoder=snakemake.params.decoder,
    vectors_path=snakemake.output.vectors,
)
