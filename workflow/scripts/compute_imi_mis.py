"""Snakemake adapter: task margins and MIS of the IMI units from their stimuli."""

from mis.imi.scores import write_imi_mis
from mis.runlog import log_to

log_to(snakemake.log[0])
write_imi_mis(
    stimuli_dir=snakemake.params.stimuli_dir,
    pattern=snakemake.params.pattern,
    conditions=snakemake.params.conditions,
    similarity=snakemake.params.similarity,
    alpha=snakemake.params.alpha,
    device=snakemake.params.device,
    threads=snakemake.threads,
    margins_path=snakemake.output.margins,
    units_path=snakemake.output.units,
)
