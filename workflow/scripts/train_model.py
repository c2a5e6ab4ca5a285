"""Snakemake adapter: train a classifier on classes of the image set, a checkpoint per listed epoch."""

from mis.runlog import log_to
from mis.settings import TrainingSettings
from mis.stages.training import train_model

log_to(snakemake.log[0])
training = TrainingSettings.from_params(snakemake.params.training)
train_model(
    architecture=training.architecture,
    train=training.train,
    epochs=training.epochs,
    seed=training.seed,
    images_root=snakemake.params.images_root,
    manifest_path=snakemake.input.manifest,
    device=snakemake.params.run["device"],
    threads=snakemake.params.threads,
    checkpoints=dict(zip(training.epochs, snakemake.output.checkpoints)),
    accuracy_path=snakemake.output.accuracy,
    split_path=snakemake.output.split,
)
