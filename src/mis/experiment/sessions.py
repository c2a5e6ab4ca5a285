"""Session files in the IMI release's 45-column layout, their quality checks, the merged response
tables and the human interpretability score (HIS) of the study's units.

A session file is what the page saves when a participant finishes (download, and POST to the
collector): one row per practice, main and catch trial, the columns of ``responses_main.csv`` in
the release's order (``mis.imi.responses.COLUMNS``; the seven ``*_extracted`` names as
``mis.imi.demo`` writes them) and formats (booleans ``True``/``False``; batch and channel as floats,
``8.0``; ``*_details`` as Python dict literals). Rows as IMI's jsPsych plugin wrote them: ``choice``
``b`` is the maximal query (``a`` the minimal one), ``correct`` = choice ``b``; ``button_pressed`` 0–2
answer the upper query with confidence 1–3, 3–5 the lower one; ``switched_queries``: the maximal
query is on top; ``time_elapsed`` and ``rt`` in ms; ``task_number`` = the session's trial list
(assignment), ``task_id`` = ``<study>_natural-<assignment>``, ``batch`` = the unit's task.

The checks are those of IMI's own code (brendel-group/imi, ``tools/mturk/spawn_experiment.py``,
``get_verify_task_callback``) with the thresholds of its paper (App. A.3), each recorded as
``<check>_result`` and ``<check>_details``, and ``passed_checks`` = all five:

- ``demo_trials``: every practice trial solved within ``practice_attempts`` rounds (a round repeats
  the practice trials not yet solved); details: rounds shown, practice trials left unsolved;
- ``catch_trials``: at least ``min_catch_correct`` catch trials right; details: ratio, answers;
- ``total_response_time``: between ``min_total_seconds`` and ``max_total_seconds`` from the start of
  the page to the end of the last trial (the largest ``time_elapsed``);
- ``row_variability``: the same query position (upper/lower, from ``button_pressed``) in at most
  ``max_same_position`` of the main and catch trials; details: counts per position;
- ``instruction_time``: at least ``min_instruction_seconds`` on the instruction pages (measured by
  the page, the only value not in the rows; read back from its details).

Merging recomputes every check from the rows with this module (the page computes them the same way;
a disagreement is logged), keeps a session sent twice once (same bytes), marks every session of a
participant who took part more than once (``multi_participation``, kept out of the main table),
numbers the sessions of each trial list (``response_index``) and writes ``participant_id`` as
``anonymized``, as the release does.
"""

from __future__ import annotations

import ast
import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mis.imi.demo import EXTRACTED
from mis.imi.responses import (
    CHECKS,
    COLUMNS,
    ResponseFormatError,
    check_columns,
)
from mis.settings import CheckSettings

log = logging.getLogger(__name__)
TRIAL_TYPE = "2afc-image-confidence-response"
_extracted = iter(EXTRACTED)
HEADER = [name if name is not None else next(_extracted) for name in COLUMNS]
CHECK_COLUMNS = ["passed_checks", *(f"{c}_result" for c in CHECKS), *(f"{c}_details" for c in CHECKS), *EXTRACTED]
TRUE, FALSE = "True", "False"
ANONYMIZED = "anonymized"


def is_true(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().str.lower().eq("true").fillna(False).astype(bool)


def parse_details(text: str) -> dict[str, Any]:
    """A ``*_details`` dict literal (``ast.literal_eval``; ``nan`` allowed)."""
    return ast.literal_eval(text.replace("nan", "None"))


def check_session(rows: pd.DataFrame, instruction_seconds: float, settings: CheckSettings) -> dict[str, tuple]:
    """(result, details) of each of IMI's five checks (module docstring) for one session's rows."""
    demo, catch = is_true(rows["is_demo"]), is_true(rows["catch_trial"])
    correct = is_true(rows["correct"])
    practice = rows[demo].assign(correct=correct[demo])
    per_item = practice.groupby(["model", "layer", "channel", "batch"], dropna=False, sort=False)["correct"]
    rounds, unsolved = (int(per_item.size().max()), int((~per_item.any()).sum())) if len(practice) else (0, 0)
    answers = correct[catch & ~demo].tolist()
    n_catch_correct = sum(answers)
    ratio = n_catch_correct / len(answers) if answers else float("nan")
    total = float(pd.to_numeric(rows["time_elapsed"]).max()) / 1000
    buttons = pd.to_numeric(rows.loc[~demo, "button_pressed"])
    upper, lower = int(buttons.between(0, 2).sum()), int(buttons.between(3, 5).sum())
    return {
        "demo_trials": (
            unsolved == 0 and rounds <= settings.practice_attempts,
            {"n_demo_trials_blocks": rounds, "n_unsolved": unsolved},
        ),
        "catch_trials": (
            n_catch_correct >= min(settings.min_catch_correct, len(answers)),
            {"ratio": ratio, "correctly_answered": answers},
        ),
        "total_response_time": (
            settings.min_total_seconds <= total <= settings.max_total_seconds,
            {"total_time": total},
        ),
        "row_variability": (
            upper + lower <= 1 or max(upper, lower) <= settings.max_same_position * (upper + lower),
            {"n_upper_row": upper, "n_lower_row": lower},
        ),
        "instruction_time": (
            instruction_seconds >= settings.min_instruction_seconds,
            {"total_time": instruction_seconds},
        ),
    }


def check_values(checks: dict[str, tuple]) -> dict[str, str]:
    """The check columns of every row of a session, as text (``CHECK_COLUMNS``: Python's ``repr``,
    as in IMI's ``*_details``; the page writes the same text); the seventh
    ``*_extracted`` column, whose meaning the release does not document, holds the practice rounds."""
    details = {name: detail for name, (_, detail) in checks.items()}
    values = {"passed_checks": TRUE if all(result for result, _ in checks.values()) else FALSE}
    values |= {f"{name}_result": TRUE if result else FALSE for name, (result, _) in checks.items()}
    values |= {f"{name}_details": repr(detail) for name, detail in details.items()}
    extracted = (
        details["instruction_time"]["total_time"],
        details["total_response_time"]["total_time"],
        details["row_variability"]["n_upper_row"],
        details["row_variability"]["n_lower_row"],
        details["catch_trials"]["ratio"],
        sum(details["catch_trials"]["correctly_answered"]),
        details["demo_trials"]["n_demo_trials_blocks"],
    )
    return values | {name: repr(value) for name, value in zip(EXTRACTED, extracted, strict=True)}


def read_session(path: str | os.PathLike) -> pd.DataFrame:
    """A session file as text, in the release's layout (columns checked, one participant and trial
    list); an error names the file."""
    try:
        rows = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ResponseFormatError(f"session file {path} cannot be read as CSV: {error}") from None
    check_columns(list(rows.columns), path)
    if rows.empty:
        raise ResponseFormatError(f"session file {path} has no rows")
    for column in ("participant_id", "task_id"):
        if rows[column].nunique(dropna=False) != 1:
            raise ResponseFormatError(
                f"session file {path}: column '{column}' differs between rows (one session per file)"
            )
    return rows


def instruction_seconds(rows: pd.DataFrame, source: str | os.PathLike) -> float:
    """The time on the instruction pages, as the page measured it (``instruction_time_details``)."""
    try:
        return float(parse_details(rows["instruction_time_details"].iloc[0])["total_time"])
    except (ValueError, SyntaxError, KeyError, TypeError):
        value = rows["instruction_time_details"].iloc[0]
        raise ResponseFormatError(f"{source}: instruction_time_details {value!r} holds no total_time") from None


def check_units(rows: pd.DataFrame, plan: pd.DataFrame, source: str | os.PathLike) -> None:
    """Every main trial of a session shows a unit and task of the study's trial lists."""
    planned = plan[plan["kind"] == "main"]
    known = set(zip(planned["model"], planned["layer"], planned["unit"].astype(int), planned["task"].astype(int)))
    main = rows[~is_true(rows["is_demo"]) & ~is_true(rows["catch_trial"])]
    for index, row in main.iterrows():
        try:
            key = (row["model"], row["layer"], int(float(row["channel"])), int(float(row["batch"])))
        except (TypeError, ValueError):
            key = None
        if key not in known:
            raise ResponseFormatError(
                f"{source}: row {index} (CSV line {index + 2}): model {row['model']}, layer {row['layer']}, "
                f"channel {row['channel']}, batch {row['batch']} is not a trial of this study (another study's file?)"
            )


def merge_sessions(
    paths: Sequence[str | os.PathLike], plan: pd.DataFrame, settings: CheckSettings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All sessions' rows, checks recomputed (module docstring), and one summary row per session."""
    kept: list[tuple[Path, str, pd.DataFrame, list[str]]] = []
    first: dict[str, Path] = {}
    for path in sorted(map(Path, paths)):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in first:
            log.info("%s is the same session as %s: kept once", path.name, first[digest].name)
            continue
        first[digest] = path
        rows = read_session(path)
        check_units(rows, plan, path)
        values = check_values(check_session(rows, instruction_seconds(rows, path), settings))
        differs = [column for column in CHECK_COLUMNS if (rows[column].fillna("") != values[column]).any()]
        if differs:
            log.warning("%s: the page's %s differ from the checks recomputed here (kept)", path.name, differs)
        kept.append((path, digest, rows.assign(**values), differs))
    participants = pd.Series([rows["participant_id"].iloc[0] for _, _, rows, _ in kept], dtype=str)
    repeated = set(participants[participants.duplicated(keep=False)])
    counters: dict[str, int] = {}
    tables, summary = [], []
    for path, digest, rows, differs in kept:
        participant, task = rows["participant_id"].iloc[0], rows["task_id"].iloc[0]
        index = counters[task] = counters.get(task, -1) + 1
        multi = participant in repeated
        rows = rows.assign(
            response_index=str(index), participant_id=ANONYMIZED, multi_participation=TRUE if multi else FALSE
        )
        passed = rows["passed_checks"].iloc[0] == TRUE
        tables.append(rows.assign(_table="main" if passed and not multi else "lower_quality"))
        main = ~is_true(rows["is_demo"]) & ~is_true(rows["catch_trial"])
        summary.append(
            {
                "file": path.name,
                "sha256": digest,
                "participant_id": participant,
                "task_id": task,
                "response_index": index,
                "n_rows": len(rows),
                "n_main_trials": int(main.sum()),
                "share_correct": float(is_true(rows.loc[main, "correct"]).mean()) if main.any() else float("nan"),
                "passed_checks": passed,
                **{check: rows[f"{check}_result"].iloc[0] == TRUE for check in CHECKS},
                "multi_participation": multi,
                "table": tables[-1]["_table"].iloc[0],
                "page_checks_differ": ",".join(differs),
            }
        )
    merged = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=[*HEADER, "_table"])
    return merged, pd.DataFrame(summary)
