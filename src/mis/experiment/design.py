"""The study's units and the trials each participant sees.

Units (Fig. 2C): per model the ``n`` highest-MIS (easiest) and ``n`` lowest-MIS (hardest)
non-constant units (``mis.imi.selection.extreme_units``) and ``n`` random non-constant units among the
others, seeded per model; or the units of a user's CSV (model, layer, unit, optional group). The
practice trials show the highest-MIS non-constant units outside the study, which are not scored.

Assignment: every unit reaches at least ``responses_per_unit`` responses, none twice in a session.
The units are put in a seeded random order and read cyclically, ``main_trials`` at a time, one slot
(one participant's trial list) after the other: T consecutive entries of a cycle through U distinct
units never repeat one when T ≤ U, and every unit is read either ⌊P·T/U⌋ or ⌈P·T/U⌉ times, so that
with P = ⌈U·R/T⌉ slots each unit gets R responses or one more. A unit's k-th response shows its task
(offset + k) mod N', N' = the tasks shown per unit, so its tasks are used evenly (IMI: 10 tasks, 3
responses each). Each slot's trials are shuffled, the catch trials put at random places among them,
and the maximal query shown on top in half of the trials (rounded down), in random ones.
"""

from __future__ import annotations

import logging
import math
import os
import zlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mis.experiment import CATCH, LISTED, PRACTICE
from mis.imi.selection import extreme_units
from mis.results import live
from mis.settings import DesignSettings

log = logging.getLogger(__name__)
UNIT_COLUMNS = ["model", "group", "rank", "layer", "layer_type", "unit", "mis", "hard_accuracy", "relative_depth"]
TRIAL_COLUMNS = ["assignment", "position", "kind", "model", "group", "layer", "unit", "task", "switched"]
EXTREMES = {"highest": "easiest", "lowest": "hardest"}


def _rng(seed: int, *keys: str) -> np.random.Generator:
    """A generator per (seed, keys): adding a model leaves the other models' draws unchanged."""
    return np.random.default_rng([seed, *(zlib.crc32(key.encode()) for key in keys)])


def _among(table: pd.DataFrame, keys: pd.DataFrame) -> np.ndarray:
    """Which rows of ``table`` are among the rows of ``keys`` (on the columns of ``keys``)."""
    return pd.MultiIndex.from_frame(table[list(keys.columns)]).isin(pd.MultiIndex.from_frame(keys))


def default_units(units: pd.DataFrame, models: Sequence[str], n: int, seed: int) -> pd.DataFrame:
    """Per model, the easiest, hardest and ``n`` random non-constant units (the random ones among the
    units that are neither, so the groups are disjoint)."""
    parts = []
    for model in models:
        table = units[units["model"] == model]
        extremes = extreme_units(table, n).rename(columns={"extreme": "group"})
        extremes["group"] = extremes["group"].map(EXTREMES)
        others = table[live(table).to_numpy() & ~_among(table, extremes[["layer", "unit"]])]
        count = min(n, len(others))
        if count < n:
            log.warning("%s: %d random units instead of %d (too few non-constant units)", model, count, n)
        drawn = others.iloc[np.sort(_rng(seed, model, "random").choice(len(others), count, replace=False))]
        drawn = drawn.iloc[_rng(seed, model, "order").permutation(count)].assign(
            group="random", rank=range(1, count + 1)
        )
        parts += [extremes, drawn]
    return pd.concat(parts, ignore_index=True)


def listed_units(units: pd.DataFrame, listed: pd.DataFrame, source: str | os.PathLike) -> pd.DataFrame:
    """The units a user's CSV names (columns model, layer, unit, optional group), each checked to be
    a non-constant unit of a study model; an error names the CSV line."""
    missing = {"model", "layer", "unit"} - set(listed.columns)
    if missing:
        raise ValueError(f"{source}: needs the columns model, layer and unit (missing: {sorted(missing)})")
    keyed = units.set_index(["model", "layer", "unit"])
    rows = []
    for position, row in enumerate(listed.itertuples(index=False)):
        key = (str(row.model), str(row.layer), int(row.unit))
        where = f"{source}, line {position + 2}: model {key[0]}, layer {key[1]}, unit {key[2]}"
        if key not in keyed.index:
            raise ValueError(f"{where}: no such unit in the study's models (config key experiment.units)")
        unit = keyed.loc[key]
        if not live(unit.to_frame().T).iloc[0]:
            raise ValueError(f"{where}: a constant unit (or non-finite activations) has no tasks worth asking about")
        group = str(getattr(row, "group", LISTED)) if "group" in listed.columns else LISTED
        rows.append({"model": key[0], "layer": key[1], "unit": key[2], "group": group, **unit.to_dict()})
    table = pd.DataFrame(rows)
    if table.duplicated(["model", "layer", "unit"]).any():
        raise ValueError(f"{source}: a unit is listed twice")
    table["rank"] = table.groupby(["model", "group"]).cumcount() + 1
    return table


def practice_units(units: pd.DataFrame, study: pd.DataFrame, models: Sequence[str], n: int) -> pd.DataFrame:
    """The ``n`` highest-MIS non-constant units of the study's models outside the study (ties in
    table order)."""
    keys = study[["model", "layer", "unit"]]
    pool = units[live(units).to_numpy() & units["model"].isin(models).to_numpy() & ~_among(units, keys)]
    if len(pool) < n:
        raise ValueError(
            f"{len(pool)} non-constant units outside the study for {n} practice trials: "
            "lower experiment.practice_trials or experiment.n_per_group"
        )
    return pool.sort_values("mis", ascending=False, kind="stable").head(n).assign(group=PRACTICE, rank=range(1, n + 1))


def study_units(
    units: pd.DataFrame,
    models: Sequence[str],
    settings: DesignSettings,
    listed: pd.DataFrame | None = None,
    source: str | os.PathLike = "",
) -> pd.DataFrame:
    """The study's units (groups easiest, random, hardest, or the CSV's), then the practice units."""
    units = units[units["model"].isin(models)].reset_index(drop=True)
    study = (
        default_units(units, models, settings.n_per_group, settings.seed)
        if listed is None
        else listed_units(units, listed, source)
    )
    practice = practice_units(units, study, models, settings.practice_trials)
    return pd.concat([study, practice], ignore_index=True)[UNIT_COLUMNS]


def slots(n_units: int, settings: DesignSettings) -> tuple[int, int]:
    """(main trials per session, sessions): T = min(main_trials, U) so that no unit repeats, and
    P = ⌈U·R/T⌉."""
    per_session = min(settings.main_trials, n_units)
    if per_session < settings.main_trials:
        log.warning("%d study units: %d main trials per session instead of %d", n_units, n_units, settings.main_trials)
    return per_session, math.ceil(n_units * settings.responses_per_unit / per_session)


def balanced_switches(n: int, rng: np.random.Generator) -> np.ndarray:
    """Which of ``n`` trials show the maximal query on top: half of them (rounded down), at random."""
    return rng.permutation(np.arange(n) < n // 2)


def assign_trials(study: pd.DataFrame, settings: DesignSettings, n_tasks: int) -> pd.DataFrame:
    """Every session's trials (``TRIAL_COLUMNS``; assignment −1: the practice trials), balanced as
    the module docstring says."""
    main = study[study["group"] != PRACTICE].reset_index(drop=True)
    if main.empty:
        raise ValueError("the study has no units")
    tasks_shown = min(settings.tasks_per_unit or n_tasks, n_tasks)
    per_session, n_sessions = slots(len(main), settings)
    rng = _rng(settings.seed, "assignment")
    order = rng.permutation(len(main))
    offsets = rng.integers(tasks_shown, size=len(main))
    seen = np.zeros(len(main), int)
    rows = []
    for session in range(n_sessions):
        units = order[(session * per_session + np.arange(per_session)) % len(main)]
        tasks = (offsets[units] + seen[units]) % tasks_shown
        seen[units] += 1
        shuffled = rng.permutation(per_session)
        entries = [("main", int(units[i]), int(tasks[i])) for i in shuffled]
        for catch, place in enumerate(
            np.sort(rng.choice(per_session + settings.catch_trials, settings.catch_trials, False))
        ):
            entries.insert(int(place), (CATCH, catch, 0))
        for position, ((kind, index, task), switched) in enumerate(zip(entries, balanced_switches(len(entries), rng))):
            unit = main.iloc[index] if kind == "main" else None
            rows.append(
                {
                    "assignment": session,
                    "position": position,
                    "kind": kind,
                    "model": unit["model"] if unit is not None else CATCH,
                    "group": unit["group"] if unit is not None else CATCH,
                    "layer": unit["layer"] if unit is not None else CATCH,
                    "unit": int(unit["unit"]) if unit is not None else index,
                    "task": task,
                    "switched": bool(switched),
                }
            )
    practice = study[study["group"] == PRACTICE].reset_index(drop=True)
    switched = balanced_switches(len(practice), rng)
    practice_rows = [
        {"assignment": -1, "position": i, "kind": PRACTICE, "model": unit["model"], "group": PRACTICE}
        | {"layer": unit["layer"], "unit": int(unit["unit"]), "task": 0, "switched": bool(switched[i])}
        for i, unit in practice.iterrows()
    ]
    return pd.DataFrame(practice_rows + rows, columns=TRIAL_COLUMNS)


def response_counts(trials: pd.DataFrame) -> pd.DataFrame:
    """Planned responses per study unit and task."""
    main = trials[trials["kind"] == "main"]
    return main.groupby(["model", "group", "layer", "unit", "task"]).size().rename("n_responses").reset_index()
