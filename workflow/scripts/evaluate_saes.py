"""Snakemake adapter: L0, dead latents, FVU and model fidelity of every dictionary of the SAE layer."""

from mis.runlog import log_to
from mis.stages.sae import evaluate_saes

log_to(snakemake.log[0])
evaluate_saes(
    model_spec=snakemake.params.model_spec,
    layer_name=snakemake.params.layer,
    dictionaries=snakemake.params.dictionaries,
    evaluate_every=snakemake.params.evaluate_every,
    images_root=snakemake.params.images_root,
    manifest_path=snakemake.input.manifest,
    device=snakemake.params.run["device"],
    threads=snakemake.params.run["threads"],
    batch_size=snakemake.params.run["batch_size"],
    num_workers=snakemake.params.run["num_workers"],
    decoder=snakemake.params.decoder,
    metrics_path=snakemake.output.metrics,
)
