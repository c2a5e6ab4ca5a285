"""Snakemake adapter: the IMI release from its Zenodo record (pooch), verified and unpacked."""

from mis.runlog import log_to
from mis.stages.imi import download_imi

log_to(snakemake.log[0])
download_imi(
    data_dir=snakemake.params.data_dir,
    needed=snakemake.params.needed,
    report_path=snakemake.output.report,
    doi=snakemake.params.doi,
    files=snakemake.params.files,
    sha256=snakemake.params.sha256,
    allow_unverified=snakemake.params.allow_unverified,
    timeout=snakemake.params.run["timeout"],
)
