"""Snakemake adapter: index the image set."""

import logging

from mis.images import manifest_fingerprint, prepare_images
from mis.runlog import log_to

log_to(snakemake.log[0])
manifest = prepare_images(snakemake.params.images, snakemake.output.manifest)
logging.info(
    "%d images in %d categories, fingerprint %s",
    len(manifest),
    manifest["category"].nunique(),
    manifest_fingerprint(manifest),
)
