"""Snakemake adapter: the IMI dataset files, checksum-verified (downloaded or placed by hand)."""

from mis.imi.download import fetch_dataset
from mis.runlog import log_to

log_to(snakemake.log[0])
fetch_dataset(
    manifest_path=snakemake.input.manifest,
    data_dir=snakemake.params.data_dir,
    allow_unverified=snakemake.params.allow_unverified,
    timeout=snakemake.params.timeout,
    report_path=snakemake.output.report,
)
