"""IMI response tables → tidy main trials → per-unit human interpretability score (HIS).

The tables (``responses_main``, ``responses_lower_quality``, ``responses_all``; CSV) hold one row per
trial of every participant, practice (``is_demo``) and catch trials included. HIS of a unit =
mean of ``correct`` over its main trials (neither practice nor catch), per model, condition, layer
and channel (method.md §4), with a Wilson score interval: it stays inside [0, 1] and keeps its
coverage for proportions near 1 and about 30 trials, where the normal approximation does not.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from mis.imi import MODES, UNIT_KEYS, condition_of, split_condition
from mis.storage import write_table

log = logging.getLogger(__name__)
# Needed for HIS and the tidy table; the other documented columns (confidence, rt, checks) are kept
# when present but not required.
REQUIRED_COLUMNS = (
    "correct", "catch_trial", "is_demo", "participant_id", "task_id", "batch", "layer", "channel", "mode", "model",
)
STRING_COLUMNS = ("model", "layer", "mode", "participant_id", "task_id")
OPTIONAL_COLUMNS = ("confidence", "rt", "passed_checks")
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}


class ResponseFormatError(ValueError):
    """A response table does not have the documented layout; the message names file and column."""


def read_responses(path: str | os.PathLike) -> pd.DataFrame:
    """A response table with every required column (else an error naming file and columns)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IMI response table not found: {path} (run download_imi, or place it there by hand)")
    # string columns as strings: a layer named "3" must not become 3.0 next to practice rows' NaN
    table = pd.read_csv(path, low_memory=False, dtype={c: str for c in STRING_COLUMNS})
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise ResponseFormatError(
            f"{path}: required column(s) {', '.join(repr(c) for c in missing)} missing "
            f"(columns present: {', '.join(map(str, table.columns))})"
        )
    return table


def as_bool(values: pd.Series, column: str, source: str | os.PathLike) -> np.ndarray:
    """Booleans as written by pandas (True/False), or 0/1; anything else is an error."""
    if values.dtype == bool:
        return values.to_numpy()
    mapped = values.map(lambda v: _BOOLEANS.get(str(v).strip().lower()))
    if mapped.isna().any():
        bad = list(values[mapped.isna()].unique()[:5])
        raise ResponseFormatError(f"{source}: column '{column}' holds non-boolean values {bad}")
    return mapped.astype(bool).to_numpy()


def main_trials(table: pd.DataFrame, source: str | os.PathLike) -> pd.DataFrame:
    """The tidy main trials: one row per trial, the unit in ``UNIT_KEYS`` (model without the
    difficulty suffix, condition = mode + difficulty), then batch, participant, task, correct."""
    main = table[~as_bool(table["is_demo"], "is_demo", source) & ~as_bool(table["catch_trial"], "catch_trial", source)]
    for column in ("model", "layer", "channel", "mode", "correct"):
        if main[column].isna().any():
            raise ResponseFormatError(f"{source}: {int(main[column].isna().sum())} main trials have no '{column}'")
    modes = set(main["mode"].unique()) - set(MODES)
    if modes:
        raise ResponseFormatError(f"{source}: column 'mode' holds {sorted(modes)} in main trials; expected {list(MODES)}")
    channel = pd.to_numeric(main["channel"], errors="coerce")
    if channel.isna().any() or (channel % 1 != 0).any():
        raise ResponseFormatError(f"{source}: column 'channel' holds non-integer values in main trials")
    model, difficulty = zip(*map(split_condition, main["model"]), strict=True) if len(main) else ((), ())
    trials = pd.DataFrame(
        {
            "model": list(model),
            "condition": [condition_of(m, d) for m, d in zip(main["mode"], difficulty, strict=True)],
            "layer": main["layer"].astype(str).to_numpy(),
            "channel": channel.astype(int).to_numpy(),
            "mode": main["mode"].to_numpy(),
            "difficulty": list(difficulty),
            "batch": pd.to_numeric(main["batch"], errors="coerce").astype("Int64").to_numpy(),
            "participant_id": main["participant_id"].astype(str).to_numpy(),
            "task_id": main["task_id"].astype(str).to_numpy(),
            "correct": as_bool(main["correct"], "correct", source),
        }
    )
    for column in OPTIONAL_COLUMNS:
        if column in main.columns:
            trials[column] = main[column].to_numpy()
    return trials.sort_values(UNIT_KEYS + ["participant_id", "task_id"], kind="stable", ignore_index=True)


def wilson_interval(n_correct: np.ndarray, n_trials: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion at confidence ``level``."""
    k, n = np.asarray(n_correct, float), np.asarray(n_trials, float)
    z = norm.ppf(0.5 + level / 2)
    centre = (k + z**2 / 2) / (n + z**2)
    half = z / (n + z**2) * np.sqrt(k * (n - k) / n + z**2 / 4)
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def human_scores(trials: pd.DataFrame, level: float) -> pd.DataFrame:
    """HIS per unit: share correct, trial and participant counts, Wilson interval."""
    grouped = trials.groupby(UNIT_KEYS, sort=True)
    scores = grouped.agg(
        n_trials=("correct", "size"), n_correct=("correct", "sum"), n_participants=("participant_id", "nunique")
    ).reset_index()
    scores["n_correct"] = scores["n_correct"].astype(int)
    scores["his"] = scores["n_correct"] / scores["n_trials"]
    scores["ci_low"], scores["ci_high"] = wilson_interval(scores["n_correct"], scores["n_trials"], level)
    return scores[UNIT_KEYS + ["his", "n_correct", "n_trials", "ci_low", "ci_high", "n_participants"]]


def write_human_scores(
    responses_path: str | os.PathLike, level: float, trials_path: str | os.PathLike, his_path: str | os.PathLike
) -> pd.DataFrame:
    """Tidy main trials and per-unit HIS of one response table."""
    trials = main_trials(read_responses(responses_path), responses_path)
    scores = human_scores(trials, level)
    conditions = ", ".join(sorted(scores["condition"].unique()))
    log.info("%s: %d main trials, %d units (%s)", responses_path, len(trials), len(scores), conditions)
    write_table(trials, trials_path)
    write_table(scores, his_path)
    return scores
