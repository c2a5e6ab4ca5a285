"""Snakemake adapter: index the image set."""

from mis.runlog import log_to
from mis.settings import ImageSettings
from mis.stages.images import prepare_images

log_to(snakemake.log[0])
prepare_images(ImageSettings.from_params(snakemake.params.images), snakemake.output.manifest)
