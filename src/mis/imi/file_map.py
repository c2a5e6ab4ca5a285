"""Every IMI trial rebuilt from ImageNet-train with the release's file map (method.md §4).

``image_data/imagenet_exemplars_file_map.json`` nests model (the release's name, harder
conditions included) → ``"<layer>/channel_<c>"`` → ``"batch_<b>"`` → ``{max,min}_{0..9}.png`` →
a path relative to ImageNet's train folder; items 0–8 are the references, 9 the query. The map
holds the natural-image (exemplar) trials only, so its units are in the ``natural`` conditions.
The trials become ``UnitStimuli`` whose paths are ImageNet-train paths, so that MIS is computed by
the same code as from the stimulus images, from exactly the images the humans saw.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from mis.imi import condition_of, split_condition
from mis.imi.stimuli import N_ITEMS, Trial, UnitStimuli

UNIT_KEY = re.compile(r"(?P<layer>[^/]+)/channel_(?P<channel>\d+)")
BATCH_KEY = re.compile(r"batch_(?P<batch>\d+)")
ITEMS = tuple(f"{side}_{i}.png" for side in ("max", "min") for i in range(N_ITEMS))
MODE = "natural"


class FileMapError(ValueError):
    """The file map does not have the released nesting, or names a missing image."""


def read_file_map(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IMI file map not found: {path} (run download_imi, or place it there by hand)")
    try:
        content = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise FileMapError(f"{path}: not valid JSON: {error}") from error
    if not isinstance(content, dict):
        raise FileMapError(f"{path}: expected an object of models at the top")
    return content


def _trial(items: Any, where: str) -> Trial:
    if not isinstance(items, dict) or set(items) != set(ITEMS):
        found = sorted(items) if isinstance(items, dict) else type(items).__name__
        raise FileMapError(f"{where}: expected exactly the keys {{max,min}}_{{0..9}}.png, found {found}")
    for item, value in items.items():
        if not isinstance(value, str) or not value or value.startswith("/") or ".." in Path(value).parts:
            raise FileMapError(
                f"{where}/{item}: expected a path relative to the ImageNet train folder, found {value!r}"
            )
    last = N_ITEMS - 1
    return Trial(
        max_query=items[f"max_{last}.png"],
        min_query=items[f"min_{last}.png"],
        max_refs=tuple(items[f"max_{i}.png"] for i in range(last)),
        min_refs=tuple(items[f"min_{i}.png"] for i in range(last)),
    )


def map_units(
    file_map: dict[str, Any], source: str | os.PathLike, conditions: list[str] | None = None
) -> list[UnitStimuli]:
    """Every unit of the map (in ``conditions`` if given) with its trials in batch order, sorted
    by unit; errors name the file and the key path."""
    units = []
    for release_model, entries in file_map.items():
        model, difficulty = split_condition(release_model)
        condition = condition_of(MODE, difficulty)
        if conditions and condition not in conditions:
            continue
        if not isinstance(entries, dict):
            raise FileMapError(f"{source}: {release_model}: expected an object of '<layer>/channel_<c>' keys")
        for key, batches in entries.items():
            match = UNIT_KEY.fullmatch(key)
            if match is None or not isinstance(batches, dict) or not batches:
                raise FileMapError(
                    f"{source}: {release_model}/{key}: expected '<layer>/channel_<c>' → batch_<b> objects"
                )
            numbered = {}
            for batch_key in batches:
                batch = BATCH_KEY.fullmatch(batch_key)
                if batch is None:
                    raise FileMapError(f"{source}: {release_model}/{key}/{batch_key}: expected batch_<b>")
                numbered[int(batch["batch"])] = batch_key
            order = sorted(numbered)
            trials = tuple(
                _trial(batches[numbered[b]], f"{source}: {release_model}/{key}/{numbered[b]}") for b in order
            )
            units.append(
                UnitStimuli(
                    model,
                    condition,
                    match["layer"],
                    int(match["channel"]),
                    f"{release_model}/{key}",
                    trials,
                    tuple(order),
                )
            )
    return sorted(units, key=lambda unit: unit.key)


def check_images(units: list[UnitStimuli], root: str | os.PathLike) -> None:
    """Every image the map names exists below the ImageNet train folder; else the first missing
    one is named with its map entry."""
    root = Path(root)
    if not root.is_dir():
        raise FileMapError(f"ImageNet train folder not found: {root} (config key 'imi.imagenet_train')")
    for unit in units:
        for batch, trial in zip(unit.batches, unit.trials, strict=True):
            names = [("max", i, p) for i, p in enumerate(trial.max_refs)] + [
                ("min", i, p) for i, p in enumerate(trial.min_refs)
            ]
            names += [("max", N_ITEMS - 1, trial.max_query), ("min", N_ITEMS - 1, trial.min_query)]
            for side, item, path in names:
                if not (root / path).is_file():
                    raise FileMapError(
                        f"image {root / path} not found: the file map's entry "
                        f"{unit.folder}/batch_{batch}/{side}_{item}.png "
                        f"names it (ImageNet train folder: config key 'imi.imagenet_train')"
                    )
