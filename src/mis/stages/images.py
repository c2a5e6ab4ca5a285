"""The images stage: the manifest of the image set."""

from __future__ import annotations

import logging
import os

import pandas as pd

from mis.images import build_manifest, manifest_fingerprint
from mis.settings import ImageSettings
from mis.storage import write_table

log = logging.getLogger(__name__)


def prepare_images(images: ImageSettings, manifest_path: str | os.PathLike) -> pd.DataFrame:
    """Index the image set into a manifest table. (Whether it is large enough for the tasks is
    checked by each extraction before its pass: the manifest does not depend on N or K, so that
    changing them does not redo what only reads images.)"""
    manifest = build_manifest(images.root, images.extensions, images.file_list, images.format)
    write_table(manifest, manifest_path)
    log.info(
        "%d images in %d categories, fingerprint %s",
        len(manifest),
        manifest["category"].nunique(),
        manifest_fingerprint(manifest),
    )
    return manifest
