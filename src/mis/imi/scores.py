"""MIS of the IMI units from the images humans saw, with the configured similarity backend.

The trials come from the file map and ImageNet-train (``imi.trials_from: file_map``) or from the
release's stimulus images (``stimuli``); both become ``UnitStimuli`` and are scored by the same
code, so the same image files give identical margins. The task margins Δ are stored per (unit,
task) so that α can be fitted afterwards (``mis.imi.alpha``) without recomputing any similarity;
the MIS at the configured ``mis.alpha`` is written beside them, with each trial's image paths and a coverage
table: which units have human responses, images, or both.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mis.formula import hard_accuracy, unit_mis
from mis.imi import UNIT_KEYS
from mis.imi.file_map import check_images, map_units, read_file_map
from mis.imi.stimuli import UnitStimuli, parse_stimuli, stimulus_tasks, unit_frame_keys
from mis.settings import SimilaritySettings
from mis.similarity.margins import margins_function

log = logging.getLogger(__name__)


def stimulus_margins(
    units: list[UnitStimuli], root: str | Path, similarity: SimilaritySettings, device: torch.device
) -> list[np.ndarray]:
    """Δ of every task of every unit (one array of N values per unit, in ``units`` order).
    Embedding backends embed each stimulus image once; pairwise backends compare every pair."""
    paths, groups = stimulus_tasks(units)
    log.info("%d units, %d stimulus images, similarity backend %s", len(units), len(paths), similarity.backend)
    margins_of = margins_function(similarity.spec, root, paths, similarity.batch_size, similarity.num_workers, device)
    margins: list[np.ndarray] = [np.empty(0)] * len(units)
    for positions, tasks in groups:
        for position, row in zip(positions, margins_of(tasks).astype(np.float64), strict=True):
            margins[position] = row
    nan_units = [units[i].folder for i, row in enumerate(margins) if np.isnan(row).any()]
    if nan_units:
        raise ValueError(f"NaN task margins for {len(nan_units)} units (unreadable images), e.g. {nan_units[:5]}")
    return margins


def margins_table(units: list[UnitStimuli], margins: list[np.ndarray]) -> pd.DataFrame:
    """Long table: one row per (unit, task); task = 1 … N in batch order, batch = the batch (or
    task folder's trial) number."""
    counts = [len(m) for m in margins]
    keys = {k: np.repeat(v, counts) for k, v in unit_frame_keys(units).items()}
    tasks = np.concatenate([np.arange(1, n + 1) for n in counts])
    batches = np.concatenate([u.batches for u in units])
    return pd.DataFrame({**keys, "task": tasks, "batch": batches, "margin": np.concatenate(margins)})


def units_table(units: list[UnitStimuli], margins: list[np.ndarray], alpha: float) -> pd.DataFrame:
    """One row per unit: MIS at ``alpha`` and hard accuracy (method.md §3), by the formulas that fit
    α, over all units at once (margins NaN-padded, as units may have different numbers of tasks)."""
    n_tasks = np.array([len(m) for m in margins])
    padded = np.full((len(margins), n_tasks.max(initial=0)), np.nan)
    padded[np.arange(padded.shape[1]) < n_tasks[:, None]] = np.concatenate(margins)
    table = pd.DataFrame(unit_frame_keys(units))
    table["n_tasks"] = n_tasks
    table["mis"] = unit_mis(padded, alpha)
    table["hard_accuracy"] = hard_accuracy(padded)
    table["folder"] = [u.folder for u in units]
    return table


def load_units(
    trials_from: str,
    conditions: list[str],
    root: str | os.PathLike,
    file_map: str | os.PathLike | None = None,
    pattern: str | None = None,
) -> list[UnitStimuli]:
    """The units and their trials, their image paths relative to ``root`` (ImageNet-train for
    ``file_map``, the stimulus folder for ``stimuli``: ``mis.imi.release.stimuli_source``)."""
    if trials_from == "file_map":
        units = map_units(read_file_map(file_map), file_map, conditions)
        check_images(units, root)
    elif trials_from == "stimuli":
        units = parse_stimuli(root, pattern, conditions)
    else:
        raise ValueError(f"config key 'imi.trials_from': {trials_from!r}, expected file_map or stimuli")
    if not units:
        raise ValueError(f"no IMI unit with images in the conditions {conditions} (config key 'imi.conditions')")
    return units


def trials_table(units: list[UnitStimuli]) -> pd.DataFrame:
    """Each trial's image paths (references joined by ';'), for the figures that show them."""
    rows = [
        {
            **dict(zip(UNIT_KEYS, unit.key, strict=True)),
            "task": task,
            "batch": batch,
            "max_query": t.max_query,
            "min_query": t.min_query,
            "max_refs": ";".join(t.max_refs),
            "min_refs": ";".join(t.min_refs),
        }
        for unit in units
        for task, (batch, t) in enumerate(zip(unit.batches, unit.trials, strict=True), start=1)
    ]
    return pd.DataFrame(rows)


def coverage_table(units: list[UnitStimuli], human: pd.DataFrame, conditions: list[str]) -> pd.DataFrame:
    """One row per unit with human trials or images (in ``conditions``): how many of each, and
    the human trials whose batch has no images."""
    human = human[human["condition"].isin(conditions)]
    seen = human.groupby(UNIT_KEYS).agg(n_human_trials=("correct", "size"), batches=("batch", lambda b: set(b)))
    images = pd.DataFrame(
        {
            **unit_frame_keys(units),
            "n_tasks": [len(u.trials) for u in units],
            "image_batches": [set(u.batches) for u in units],
        }
    ).set_index(UNIT_KEYS)
    table = seen.join(images, how="outer").reset_index()
    table["in_responses"] = table["n_human_trials"].notna()
    table["has_images"] = table["n_tasks"].notna()
    table["n_human_trials"] = table["n_human_trials"].fillna(0).astype(int)
    table["n_tasks"] = table["n_tasks"].fillna(0).astype(int)
    table["n_batches_without_images"] = [
        len(b - i) if isinstance(b, set) and isinstance(i, set) else 0
        for b, i in zip(table["batches"], table["image_batches"], strict=True)
    ]
    columns = UNIT_KEYS + ["in_responses", "has_images", "n_human_trials", "n_tasks", "n_batches_without_images"]
    return table.sort_values(UNIT_KEYS, ignore_index=True)[columns]


def log_coverage(table: pd.DataFrame, path: str | os.PathLike) -> None:
    for flag, other, what in (
        ("in_responses", "has_images", "human responses but no images"),
        ("has_images", "in_responses", "images but no human responses"),
    ):
        only = table[table[flag] & ~table[other]]
        if len(only):
            listed = "; ".join("/".join(map(str, row)) for row in only[UNIT_KEYS].itertuples(index=False))
            log.warning("%d units with %s (listed in %s): %s", len(only), what, path, listed)
    log.info("%d units with both human responses and images", int((table["in_responses"] & table["has_images"]).sum()))
