"""Snakemake adapter: train a classifier on classes of the image set, a checkpoint per listed epoch."""

from mis.runlog import log_to
from mis.training import train_model

log_to(snakemake.log[0])
train_model(
    architecture=snakemake.params.architecture,
    train=snakemake.params.train,
    epochs=snakemake.params.epochs,
    seed=snakemake.params.seed,
    images_root=snakemake.params.images_root,
    manifest_path=snakemake.input.manifest,
    device=snakemake.params.run["device"],
    threads=snakemake.params.threads,
    checkpoints=dict(zip(snakemake.params.epochs, snakemake.output.checkpoints)),
    accuracy_path=snakemake.output.accuracy,
    split_path=snakemake.output.split,
)
