"""Snakemake adapter: MIS per epoch (with accuracy) and per layer and epoch, behind Fig. 7 and 8."""

from mis.figures.fig7 import epoch_table, read_accuracy_table
from mis.figures.fig8 import layer_changes
from mis.results import read_units
from mis.runlog import log_to
from mis.storage import write_table

log_to(snakemake.log[0])
units = read_units(snakemake.input.units)
epochs = snakemake.params.epochs
write_table(epoch_table(units, epochs, read_accuracy_table(snakemake.input.accuracy)), snakemake.output.epochs)
write_table(layer_changes(units, epochs), snakemake.output.layers)
