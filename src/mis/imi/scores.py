"""MIS of the IMI units from the stimuli humans saw, with the configured similarity backend.

The task margins Δ are stored per (unit, task) so that α can be fitted afterwards without
recomputing any similarity; the MIS at the configured ``mis.alpha`` is written beside them.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from mis.alpha import hard_accuracy, unit_probability
from mis.imi.stimuli import UnitStimuli, parse_stimuli, stimulus_tasks, unit_frame_keys
from mis.models import select_device
from mis.similarity.margins import margins_function
from mis.storage import write_table

log = logging.getLogger(__name__)


def stimulus_margins(
    units: list[UnitStimuli], root: str | Path, similarity: dict[str, Any], device: torch.device
) -> list[np.ndarray]:
    """Δ of every task of every unit (one array of N values per unit, in ``units`` order).
    Embedding backends embed each stimulus image once; pairwise backends compare every pair."""
    paths, groups = stimulus_tasks(units)
    log.info("%d units, %d stimulus images, similarity backend %s", len(units), len(paths), similarity["backend"])
    margins_of = margins_function(similarity, root, paths, similarity["batch_size"], similarity["num_workers"], device)
    margins: list[np.ndarray] = [np.empty(0)] * len(units)
    for positions, tasks in groups:
        for position, row in zip(positions, margins_of(tasks).double().cpu().numpy(), strict=True):
            margins[position] = row
    nan_units = [units[i].folder for i, row in enumerate(margins) if np.isnan(row).any()]
    if nan_units:
        raise ValueError(f"NaN task margins for {len(nan_units)} units (unreadable images), e.g. {nan_units[:5]}")
    return margins


def margins_table(units: list[UnitStimuli], margins: list[np.ndarray]) -> pd.DataFrame:
    """Long table: one row per (unit, task), task = the trial number of the task folder."""
    counts = [len(m) for m in margins]
    keys = {k: np.repeat(v, counts) for k, v in unit_frame_keys(units).items()}
    tasks = np.concatenate([np.arange(1, n + 1) for n in counts])
    return pd.DataFrame({**keys, "task": tasks, "margin": np.concatenate(margins)})


def units_table(units: list[UnitStimuli], margins: list[np.ndarray], alpha: float) -> pd.DataFrame:
    """One row per unit: MIS at ``alpha`` and hard accuracy (method.md §3), by the formulas that fit
    α, over all units at once (margins NaN-padded, as units may have different numbers of tasks)."""
    n_tasks = np.array([len(m) for m in margins])
    padded = np.full((len(margins), n_tasks.max(initial=0)), np.nan)
    padded[np.arange(padded.shape[1]) < n_tasks[:, None]] = np.concatenate(margins)
    table = pd.DataFrame(unit_frame_keys(units))
    table["n_tasks"] = n_tasks
    table["mis"] = unit_probability(padded, alpha)
    table["hard_accuracy"] = hard_accuracy(padded)
    table["folder"] = [u.folder for u in units]
    return table


def write_imi_mis(
    stimuli_dir: str | os.PathLike,
    pattern: str,
    conditions: list[str],
    similarity: dict[str, Any],
    alpha: float,
    device: str,
    threads: int,
    margins_path: str | os.PathLike,
    units_path: str | os.PathLike,
) -> pd.DataFrame:
    """Task margins and MIS of every IMI unit in ``conditions`` whose stimuli are in ``stimuli_dir``,
    units sorted by ``UNIT_KEYS``."""
    torch.set_num_threads(threads)
    units = parse_stimuli(stimuli_dir, pattern, conditions)
    margins = stimulus_margins(units, stimuli_dir, similarity, select_device(device))
    table = units_table(units, margins, alpha)
    write_table(margins_table(units, margins), margins_path)
    write_table(table, units_path)
    return table
