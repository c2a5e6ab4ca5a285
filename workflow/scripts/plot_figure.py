"""Snakemake adapter: one figure, drawn from its tables (mis.figures.FIGURES)."""

from mis.figures import draw
from mis.runlog import log_to

log_to(snakemake.log[0])
draw(snakemake.params.figure, dict(snakemake.input.items()), snakemake.output.figure, **snakemake.params.options)
