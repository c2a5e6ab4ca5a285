"""IMI response tables → tidy main trials → per-unit human interpretability score (HIS).

The release's ``human_responses/responses_main.csv`` (method.md §4) has 45 columns in a fixed
order, checked exactly (``COLUMNS``; the names of the seven ``*_extracted`` columns are not
documented, so only their suffix is: the authors' code also spells it ``_exctracted``). One row per
trial of every participant, practice (``is_demo``) and catch trials included. Parsed: booleans,
``batch`` and ``channel`` (floats such as ``8.0``) to integers; the ``*_details`` columns (Python
dict strings) stay text; the ``anonymized`` columns (the four image columns and
``participant_id``) are ignored, so a participant's session is (``task_id``, ``response_index``).
HIS of a unit = mean of ``correct`` over its main trials (neither practice nor catch), per model,
condition, layer and channel, with a Wilson score interval (it stays inside [0, 1] and keeps its
coverage near 1 with about 30 trials). A model of the release without main trials
(``googlenet_hard85``) is reported in the model table, not an error.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from mis.imi import MODES, UNIT_KEYS, condition_of, split_condition

log = logging.getLogger(__name__)
CHECKS = ("demo_trials", "catch_trials", "total_response_time", "row_variability", "instruction_time")
N_EXTRACTED = 7
EXTRACTED = re.compile(r".+_ex(c)?tracted")
COLUMNS = (
    "rt",
    "button_pressed",
    "switched_queries",
    "confidence",
    "choice",
    "correct",
    "min_query",
    "max_query",
    "min_references",
    "max_references",
    "catch_trial",
    "is_demo",
    "trial_type",
    "trial_index",
    "time_elapsed",
    "internal_node_id",
    "response_index",
    "participant_id",
    "corrected_trial_index",
    "task_id",
    "task_number",
    "batch",
    "channel",
    "layer",
    "mode",
    "model",
    "passed_checks",
    *(f"{check}_result" for check in CHECKS),
    *(f"{check}_details" for check in CHECKS),
    *([None] * N_EXTRACTED),  # *_extracted
    "multi_participation",
)
ANONYMIZED = ("min_query", "max_query", "min_references", "max_references", "participant_id")
BOOLEANS = ("correct", "catch_trial", "is_demo")  # on every row
CHECK_BOOLEANS = ("passed_checks", *(f"{check}_result" for check in CHECKS), "multi_participation")  # may be empty
INTEGERS = ("batch", "channel", "response_index")
_BOOLEAN_TEXT = {"true": True, "false": False}
# The models of the release (the file map's 14 keys): the 9 models and the harder conditions.
RELEASE_MODELS = (
    "googlenet",
    "resnet50",
    "resnet50-l2",
    "clip-resnet50",
    "wide_resnet50",
    "densenet_201",
    "convnext_b",
    "in1k-vit_b32",
    "clip-vit_b32",
    "resnet50_hard85",
    "resnet50_hard95",
    "clip-resnet50_hard85",
    "clip-resnet50_hard95",
    "googlenet_hard85",
)


class ResponseFormatError(ValueError):
    """A response table does not have the released layout; the message names file, column and row."""


def _where(source: str | os.PathLike, column: str, rows: pd.Index, values: pd.Series) -> str:
    row = int(rows[0])
    return f"{source}: column '{column}', row {row} (CSV line {row + 2}): {values.loc[row]!r}"


def check_columns(columns: list[str], source: str | os.PathLike) -> None:
    """The 45 columns in the released order; the first difference is named."""
    if len(columns) != len(COLUMNS):
        missing = [c for c in COLUMNS if c is not None and c not in columns]
        raise ResponseFormatError(
            f"{source}: {len(columns)} columns, expected {len(COLUMNS)}"
            + (f"; missing column(s) {', '.join(repr(c) for c in missing)}" if missing else "")
        )
    for position, (found, expected) in enumerate(zip(columns, COLUMNS, strict=True), start=1):
        if (expected is None and not EXTRACTED.fullmatch(found)) or (expected is not None and found != expected):
            raise ResponseFormatError(
                f"{source}: column {position} is {found!r}, expected "
                + (repr(expected) if expected else "a '*_extracted' column")
                + (f" (missing column '{expected}')" if expected and expected not in columns else "")
            )


def parse_booleans(values: pd.Series, column: str, source: str | os.PathLike, allow_empty: bool) -> pd.Series:
    """``True``/``False`` (as pandas writes them); empty only where allowed; else an error naming the row."""
    text = values.astype("string").str.strip().str.lower()
    parsed = text.map(_BOOLEAN_TEXT, na_action="ignore")
    bad = parsed.isna() & (text.notna() | (not allow_empty))
    if bad.any():
        raise ResponseFormatError(f"{_where(source, column, values.index[bad], values)} is not a boolean (True/False)")
    return parsed.astype("boolean")


def parse_integers(values: pd.Series, column: str, source: str | os.PathLike) -> pd.Series:
    """Whole numbers written as floats (``8.0``) → nullable integers; empty stays missing."""
    numbers = pd.to_numeric(values, errors="coerce")
    bad = (numbers.isna() & values.notna()) | (numbers.notna() & (numbers % 1 != 0))
    if bad.any():
        raise ResponseFormatError(f"{_where(source, column, values.index[bad], values)} is not a whole number")
    return numbers.astype("Int64")


def read_responses(path: str | os.PathLike) -> pd.DataFrame:
    """A response table of the release, checked and typed; the anonymized columns dropped."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IMI response table not found: {path} (run download_imi, or place it there by hand)")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ValueError(f"IMI response table {path} cannot be read as CSV: {error}") from None
    check_columns(list(table.columns), path)
    table = table.drop(columns=list(ANONYMIZED))
    for column in BOOLEANS:
        table[column] = parse_booleans(table[column], column, path, allow_empty=False)
    for column in CHECK_BOOLEANS:
        table[column] = parse_booleans(table[column], column, path, allow_empty=True)
    for column in INTEGERS:
        table[column] = parse_integers(table[column], column, path)
    return table


def main_trials(table: pd.DataFrame, source: str | os.PathLike) -> pd.DataFrame:
    """The tidy main trials: one row per trial, the unit in ``UNIT_KEYS`` (model without the
    difficulty suffix, condition = mode + difficulty), then the release's model name, batch, the
    session (task_id, response_index), correct."""
    main = table[~table["is_demo"].to_numpy(bool) & ~table["catch_trial"].to_numpy(bool)]
    for column in ("model", "layer", "channel", "batch", "mode", "response_index"):
        empty = main[column].isna()
        if empty.any():
            raise ResponseFormatError(
                f"{_where(source, column, main.index[empty], main[column])}: empty in a main trial"
            )
    bad_mode = ~main["mode"].isin(MODES)
    if bad_mode.any():
        raise ResponseFormatError(
            f"{_where(source, 'mode', main.index[bad_mode], main['mode'])}: expected one of {list(MODES)}"
        )
    model, difficulty = zip(*map(split_condition, main["model"]), strict=True) if len(main) else ((), ())
    trials = pd.DataFrame(
        {
            "model": list(model),
            "condition": [condition_of(m, d) for m, d in zip(main["mode"], difficulty, strict=True)],
            "layer": main["layer"].to_numpy(),
            "channel": main["channel"].astype(int).to_numpy(),
            "release_model": main["model"].to_numpy(),
            "mode": main["mode"].to_numpy(),
            "difficulty": list(difficulty),
            "batch": main["batch"].astype(int).to_numpy(),
            "task_id": main["task_id"].to_numpy(),
            "response_index": main["response_index"].astype(int).to_numpy(),
            "correct": main["correct"].to_numpy(bool),
            "confidence": pd.to_numeric(main["confidence"], errors="coerce").to_numpy(),
            "rt": pd.to_numeric(main["rt"], errors="coerce").to_numpy(),
            "passed_checks": main["passed_checks"].to_numpy(),
        }
    )
    return trials.sort_values(UNIT_KEYS + ["batch", "task_id", "response_index"], kind="stable", ignore_index=True)


def model_counts(table: pd.DataFrame, trials: pd.DataFrame) -> pd.DataFrame:
    """Rows, main trials, units and mean correct per model name of the release; the release's
    models without main trials (``googlenet_hard85``) are listed with zero."""
    names = sorted(set(RELEASE_MODELS) | set(trials["release_model"]))
    rows = table["model"].value_counts()
    units = trials.drop_duplicates(["release_model", "mode", "layer", "channel"])["release_model"].value_counts()
    grouped = trials.groupby("release_model")
    counts = pd.DataFrame(
        {
            "model": names,
            "n_rows": [int(rows.get(name, 0)) for name in names],
            "n_main_trials": [int(grouped.size().get(name, 0)) for name in names],
            "n_units": [int(units.get(name, 0)) for name in names],
            "mean_correct": [float(grouped["correct"].mean().get(name, np.nan)) for name in names],
        }
    )
    counts["empty"] = counts["n_main_trials"] == 0
    return counts


def wilson_interval(n_correct: np.ndarray, n_trials: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion at confidence ``level``."""
    k, n = np.asarray(n_correct, float), np.asarray(n_trials, float)
    z = norm.ppf(0.5 + level / 2)
    centre = (k + z**2 / 2) / (n + z**2)
    half = z / (n + z**2) * np.sqrt(k * (n - k) / n + z**2 / 4)
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def human_scores(trials: pd.DataFrame, level: float) -> pd.DataFrame:
    """HIS per unit: share correct, trial and session counts, Wilson interval."""
    sessions = trials["task_id"].astype(str) + "#" + trials["response_index"].astype(str)
    grouped = trials.assign(session=sessions).groupby(UNIT_KEYS, sort=True)
    scores = grouped.agg(
        n_trials=("correct", "size"), n_correct=("correct", "sum"), n_sessions=("session", "nunique")
    ).reset_index()
    scores["n_correct"] = scores["n_correct"].astype(int)
    scores["his"] = scores["n_correct"] / scores["n_trials"]
    scores["ci_low"], scores["ci_high"] = wilson_interval(scores["n_correct"], scores["n_trials"], level)
    return scores[UNIT_KEYS + ["his", "n_correct", "n_trials", "ci_low", "ci_high", "n_sessions"]]


def score_responses(
    path: str | os.PathLike, level: float
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A response table read and scored: (the table, its tidy main trials, per-unit HIS with
    intervals at ``level``, per-model counts)."""
    table = read_responses(path)
    trials = main_trials(table, path)
    return table, trials, human_scores(trials, level), model_counts(table, trials)
