"""Snakemake adapter: train one SAE of the sweep into a dictionary file."""

from mis.runlog import log_to
from mis.sae.stages import train_sae

log_to(snakemake.log[0])
train_sae(
    settings=snakemake.params.settings,
    layer_name=snakemake.params.layer,
    vectors_path=snakemake.input.vectors,
    device=snakemake.params.device,
    threads=snakemake.params.threads,
    dictionary_path=snakemake.output.dictionary,
)
