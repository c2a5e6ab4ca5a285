"""Snakemake adapter: the SAE table and the per-unit MIS of the layer's channels and latents."""

from mis.runlog import log_to
from mis.settings import SaeSettings
from mis.stages.analysis import analyze_sae

log_to(snakemake.log[0])
analyze_sae(
    units_path=snakemake.input.units[0],
    metrics_path=snakemake.input.metrics,
    trained={name: SaeSettings.from_params(sae) for name, sae in snakemake.params.trained.items()},
    layer=snakemake.params.layer,
    table_path=snakemake.output.table,
    unit_mis_path=snakemake.output.unit_mis,
)
