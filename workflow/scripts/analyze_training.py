"""Snakemake adapter: the tables of Figs. 7 and 8 (MIS per epoch and per layer)."""

from mis.runlog import log_to
from mis.stages.analysis import analyze_training

log_to(snakemake.log[0])
analyze_training(
    units_paths=list(snakemake.input.units),
    epochs=snakemake.params.epochs,
    accuracy_path=next(iter(snakemake.input.accuracy), snakemake.params.user_accuracy),  # train_model's or the user's
    epochs_path=snakemake.output.epochs,
    correlation_path=snakemake.output.correlation,
    layers_path=snakemake.output.layers,
    depth_path=snakemake.output.depth,
)
