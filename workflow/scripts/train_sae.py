"""Snakemake adapter: train one SAE of the sweep into a dictionary file."""

from mis.runlog import log_to
from mis.settings import SaeSettings
from mis.stages.sae import train_sae

log_to(snakemake.log[0])
train_sae(
    settings=SaeSettings.from_params(snakemake.params.settings),
    layer_name=snakemake.params.layer,
    vectors_path=snakemake.input.vectors,
    device=snakemake.params.run["device"],
    threads=snakemake.params.threads,
    dictionary_path=snakemake.output.dictionary,
)
