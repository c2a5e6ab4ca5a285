"""A static unit browser: a folder of HTML, JavaScript, data scripts and JPEG thumbnails that any
browser opens from disk, with no server and nothing fetched from elsewhere.

Layout of the folder (all references relative, so it can be copied or zipped as a whole)::

    index.html, browser.js, browser.css   the page; the model list is inline in index.html
    data/<m>/units.js                     one model's layers and units (scores only): loaded when the
                                          model is opened
    data/<m>/layer-<l>.js                 images of one layer's units (top, bottom, one task): loaded
                                          when one of its units is opened
    images/<image>.jpg                    a thumbnail per image that some unit shows (manifest index)

Data files are scripts calling ``MIS.register(key, data)``: Chromium blocks ``fetch()`` of
``file://`` URLs, but loads script tags. Pages stay small for any number of units: the browser holds
one model's scores at a time and requests the images of the opened unit only.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torchvision import transforms

from mis.datasets import ImageDataset
from mis.results import live, model_summary
from mis.settings import BrowserSettings
from mis.storage import read_arrays, read_table
from mis.tasks import Tasks, read_tasks

log = logging.getLogger(__name__)
PathLike = str | os.PathLike
TEMPLATE = Path(__file__).with_name("browser_template")
STATIC_FILES = ("browser.js", "browser.css")
INDEX_PLACEHOLDER = "{{INDEX_JSON}}"
DIGITS = 4  # decimals of the scores in the data files (the page shows 3)


@dataclass
class ModelResults:
    """One model's cached results, as the browser needs them; rows follow the unit table."""

    name: str
    units: pd.DataFrame
    top_idx: np.ndarray  # (units, n_images), most activating first
    bottom_idx: np.ndarray  # (units, n_images), least activating first
    tasks: Tasks

    @classmethod
    def read(
        cls, name: str, units_path: PathLike, extremes_path: PathLike, tasks_path: PathLike, n_images: int
    ) -> ModelResults:
        units = read_table(units_path).reset_index(drop=True)
        extremes = read_arrays(extremes_path)
        tasks = read_tasks(tasks_path)
        sizes = {units_path: len(units), extremes_path: len(extremes["top_idx"]), tasks_path: tasks.shape[0]}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"{name}: unit counts differ between result files: {sizes}")
        return cls(name, units, extremes["top_idx"][:, :n_images], extremes["bottom_idx"][:, :n_images], tasks)

    def task(self, row: int, task: int = 0) -> dict[str, Any]:
        """One 2-AFC task of a unit as shown to a participant: references most extreme first."""
        return {
            "neg": self.tasks.min_refs[row, task, ::-1].tolist(),
            "qneg": int(self.tasks.min_queries[row, task]),
            "qpos": int(self.tasks.max_queries[row, task]),
            "pos": self.tasks.max_refs[row, task, ::-1].tolist(),
        }

    def unit_entry(self, row: int) -> dict[str, Any]:
        """What the page shows of a unit: its extremes and its first task."""
        return {"top": self.top_idx[row].tolist(), "bottom": self.bottom_idx[row].tolist(), "task": self.task(row)}


def _numbers(values: Iterable[float]) -> list[float | None]:
    """Rounded floats for JSON; NaN (a layer of constant units only has no mean MIS) becomes null."""
    return [None if np.isnan(v) else round(float(v), DIGITS) for v in values]


def layer_summary(units: pd.DataFrame) -> pd.DataFrame:
    """Per layer, in network order: type, channels, relative depth and width, and the mean MIS and
    hard accuracy of its non-constant units (constant units have no meaningful score)."""
    scored = units[live(units)]
    first = units.drop_duplicates("layer").set_index("layer")
    table = pd.DataFrame(
        {
            "layer_type": first["layer_type"],
            "channels": units.groupby("layer", sort=False).size(),
            "relative_depth": first["relative_depth"],
            "relative_width": first["relative_width"],
            "mean_mis": scored.groupby("layer", sort=False)["mis"].mean(),
            "mean_hard_accuracy": scored.groupby("layer", sort=False)["hard_accuracy"].mean(),
            "n_constant": units.groupby("layer", sort=False)["constant"].sum(),
        },
        index=first.index,
    )
    return table.reset_index()


def units_with_images(units: pd.DataFrame, per_layer: int | None) -> np.ndarray:
    """Which units get images: all, or per layer the ``per_layer`` highest- and lowest-MIS
    non-constant units (bounds the thumbnails of a paper-scale run)."""
    if per_layer is None:
        return np.ones(len(units), dtype=bool)
    scored = units[live(units)].sort_values("mis", kind="stable")
    by_layer = scored.groupby("layer", sort=False)
    chosen = by_layer.head(per_layer).index.union(by_layer.tail(per_layer).index)
    return units.index.isin(chosen)


def model_payload(results: ModelResults, layers: pd.DataFrame, with_images: np.ndarray) -> dict[str, Any]:
    """Scores of every layer and unit of a model, column-wise (the compact form for 10^4–10^5 units)."""
    units = results.units
    layer_index = {name: i for i, name in enumerate(layers["layer"])}
    return {
        "model": results.name,
        "layers": {
            "name": layers["layer"].tolist(),
            "type": layers["layer_type"].tolist(),
            "channels": layers["channels"].astype(int).tolist(),
            "depth": _numbers(layers["relative_depth"]),
            "width": _numbers(layers["relative_width"]),
            "mis": _numbers(layers["mean_mis"]),
            "hard": _numbers(layers["mean_hard_accuracy"]),
            "constant": layers["n_constant"].astype(int).tolist(),
        },
        "units": {
            "layer": units["layer"].map(layer_index).astype(int).tolist(),
            "unit": units["unit"].astype(int).tolist(),
            "mis": _numbers(units["mis"]),
            "hard": _numbers(units["hard_accuracy"]),
            "constant": units["constant"].astype(int).tolist(),
            "images": with_images.astype(int).tolist(),
        },
    }


def entry_images(entry: dict[str, Any]) -> set[int]:
    """Every image a unit entry shows."""
    task = entry["task"]
    return {*entry["top"], *entry["bottom"], *task["neg"], *task["pos"], task["qneg"], task["qpos"]}


def layer_payload(
    results: ModelResults, rows: np.ndarray, with_images: np.ndarray, paths: Sequence[str]
) -> dict[str, Any]:
    """Images of one layer's units (``rows`` in channel order; null for a unit without images) and the
    manifest path of each image, shown on hover."""
    entries = [results.unit_entry(row) if with_images[row] else None for row in rows]
    shown = sorted(set().union(*(entry_images(entry) for entry in entries if entry)))
    return {"units": entries, "paths": {str(image): paths[image] for image in shown}}


def write_script(path: Path, key: str, payload: dict[str, Any]) -> None:
    """A data file the page loads with a script tag (see the module docstring)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    path.write_text(f"MIS.register({json.dumps(key)},{data});\n")


@dataclass(frozen=True)
class JpegThumbnail:
    """Transform to a square JPEG thumbnail (a class, not a closure, so DataLoader workers can pickle it)."""

    size: int
    quality: int = 85

    def __call__(self, image: Image.Image) -> bytes:
        square = transforms.CenterCrop(self.size)(transforms.Resize(self.size)(image))
        buffer = io.BytesIO()
        square.save(buffer, format="JPEG", quality=self.quality)
        return buffer.getvalue()


def write_thumbnails(
    images_root: PathLike, paths: Sequence[str], images: Sequence[int], folder: Path, size: int, num_workers: int
) -> int:
    """``images/<image>.jpg`` for each image index; returns how many were written. Images are read
    like everywhere else in the pipeline (files or tar shard members); an unreadable one is logged
    and skipped (the page then shows its path instead)."""
    folder.mkdir(parents=True, exist_ok=True)
    dataset = ImageDataset(images_root, paths, JpegThumbnail(size), (3, size, size))
    subset = torch.utils.data.Subset(dataset, list(images))
    written = 0
    for jpeg, image, ok in torch.utils.data.DataLoader(subset, batch_size=None, num_workers=num_workers):
        if ok:
            (folder / f"{image}.jpg").write_bytes(jpeg)
            written += 1
    return written


def render_index(folder: Path, index: dict[str, Any]) -> None:
    """The page with the model list inline, and its script and style sheet beside it."""
    html = (TEMPLATE / "index.html").read_text()
    data = json.dumps(index, allow_nan=False).replace("</", "<\\/")  # cannot close the script element
    (folder / "index.html").write_text(html.replace(INDEX_PLACEHOLDER, data))
    for name in STATIC_FILES:
        shutil.copy(TEMPLATE / name, folder / name)


def write_model(
    folder: Path, key: str, results: ModelResults, paths: Sequence[str], settings: BrowserSettings
) -> set[int]:
    """A model's data files; returns the images its units show."""
    layers = layer_summary(results.units)
    with_images = units_with_images(results.units, settings.units_with_images)
    write_script(folder / "units.js", f"{key}/units", model_payload(results, layers, with_images))
    rows_of_layer = results.units.groupby("layer", sort=False).indices
    channels = results.units["unit"].to_numpy()
    shown: set[int] = set()
    for position, layer in enumerate(layers["layer"]):
        rows = rows_of_layer[layer]
        rows = rows[np.argsort(channels[rows], kind="stable")]
        payload = layer_payload(results, rows, with_images, paths)
        write_script(folder / f"layer-{position}.js", f"{key}/layer-{position}", payload)
        shown.update(int(image) for image in payload["paths"])
    return shown


def model_entry(key: str, results: ModelResults) -> dict[str, Any]:
    """A model's row of the page's model table: ``results.model_summary`` plus its layer count."""
    summary = model_summary(results.units).iloc[0]
    scores = ("mean_mis", "median_mis", "p05_mis", "p95_mis", "mean_hard_accuracy", "constant_ratio")
    return {
        "key": key,
        "model": results.name,
        "n_layers": int(results.units["layer"].nunique()),
        "n_units": int(summary["n_units"]),
        "n_constant": int(summary["n_constant"]),
        **dict(zip(scores, _numbers(summary[list(scores)]))),
    }
