"""The browser stage: the static unit browser of a run (``mis.browser`` builds its pages)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from mis.browser import ModelResults, model_entry, render_index, write_model, write_thumbnails
from mis.settings import BrowserSettings
from mis.storage import atomic_directory, read_table

log = logging.getLogger(__name__)
PathLike = str | os.PathLike


def build_unit_browser(
    models: Sequence[str],
    units_paths: Sequence[PathLike],
    extremes_paths: Sequence[PathLike],
    tasks_paths: Sequence[PathLike],
    manifest_path: PathLike,
    images_root: PathLike,
    out_dir: PathLike,
    settings: BrowserSettings = BrowserSettings(),
) -> dict[str, Any]:
    """Write the browser folder for ``models`` from their cached results; returns the page's index
    (model list and task shape)."""
    if not models or not (len(models) == len(units_paths) == len(extremes_paths) == len(tasks_paths)):
        raise ValueError(f"need one units table, extremes file and tasks file per model, got {len(models)} models")
    paths = list(read_table(manifest_path)["path"])
    index: dict[str, Any] = {"models": [], "thumbnail": settings.thumbnail}
    shown: set[int] = set()
    with atomic_directory(out_dir) as folder:
        for position, files in enumerate(zip(models, units_paths, extremes_paths, tasks_paths)):
            results = ModelResults.read(*files, n_images=settings.n_images)
            key = str(position)
            shown |= write_model(folder / "data" / key, key, results, paths, settings)
            index["models"].append(model_entry(key, results))
            index["n_tasks"], index["n_refs"] = results.tasks.shape[1:]
            log.info("%s: %d units", results.name, len(results.units))
        n_written = write_thumbnails(
            images_root, paths, sorted(shown), folder / "images", settings.thumbnail, settings.num_workers
        )
        log.info("%d thumbnails of the %d images shown", n_written, len(shown))
        render_index(folder, index)
    return index
