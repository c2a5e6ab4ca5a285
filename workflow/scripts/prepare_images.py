"""Snakemake adapter: index the image set."""

import logging

from mis.images import manifest_fingerprint, write_manifest
from mis.runlog import log_to

log_to(snakemake.log[0])
manifest = write_manifest(snakemake.params.images, snakemake.output.manifest, snakemake.params.tasks)
logging.info("%d images in %d categories, fingerprint %s", len(manifest), manifest["category"].nunique(), manifest_fingerprint(manifest))
