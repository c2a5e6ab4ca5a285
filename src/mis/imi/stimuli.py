"""The IMI stimuli, exactly as humans saw them, as ``mis.tasks.Tasks`` over a list of image files.

Two layouts of the stimulus images are read. The generation layout, which the file map's keys
mirror (method.md §4): per unit ``batch_<b>/{max,min}_{0..9}.png``, items 0–8 the references and
9 the query. And the IMI task folder: the IMI experiment code writes (verified from its generation script and the
practice trials it ships): ``<task>/index.json`` (``task_name``, ``n_reference_images``,
``n_trials``) and, for i = 1 … n_trials, ``trials/trial_<i>/queries/{max,min}.png`` and
``trials/trial_<i>/references/{max,min}_<j>.png`` (j = 0 … K−1). Which unit a task folder shows is
read from its path below the stimuli folder with ``imi.stimuli_pattern``, a regex with the named
groups model, layer, channel and mode; its default mirrors the unit folders of the IMI generation
code (``<model>/<layer>/channel_<c>/<mode>_images``). That the Zenodo archive stores one such
task folder per unit is inferred: anything else fails with the path and what was expected.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mis.imi import MODES, UNIT_KEYS, condition_of, split_condition
from mis.tasks import Tasks

DEFAULT_PATTERN = r"(?P<model>[^/]+)/(?P<layer>[^/]+)/channel_(?P<channel>\d+)/(?P<mode>natural|optimized)(?:_images)?"
PATTERN_GROUPS = ("model", "layer", "channel", "mode")
INDEX_KEYS = ("task_name", "n_reference_images", "n_trials")
QUERIES = ("max.png", "min.png")
N_ITEMS = 10  # per side and batch: references 0–8, query 9
BATCH = re.compile(r"batch_(\d+)")


class StimulusLayoutError(ValueError):
    """The stimuli folder does not have the expected layout; the message names the path."""


@dataclass(frozen=True)
class Trial:
    """Image paths (relative to the stimuli folder) of one 2-AFC trial."""

    max_query: str
    min_query: str
    max_refs: tuple[str, ...]
    min_refs: tuple[str, ...]


@dataclass(frozen=True)
class UnitStimuli:
    model: str
    condition: str
    layer: str
    channel: int
    folder: str
    trials: tuple[Trial, ...]
    batches: tuple[int, ...]  # the batch (or trial) number of each trial

    @property
    def key(self) -> tuple[str, str, str, int]:
        return self.model, self.condition, self.layer, self.channel


def compile_pattern(pattern: str) -> re.Pattern:
    try:
        regex = re.compile(pattern)
    except re.error as error:
        raise StimulusLayoutError(f"config key 'imi.stimuli_pattern': invalid regex {pattern!r}: {error}") from error
    absent = [g for g in PATTERN_GROUPS if g not in regex.groupindex]
    if absent:
        raise StimulusLayoutError(f"config key 'imi.stimuli_pattern': {pattern!r} lacks the named group(s) {absent}")
    return regex


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if not p.name.startswith(".")} if folder.is_dir() else set()


def _expect(folder: Path, found: set[str], expected: set[str]) -> None:
    if found != expected:
        missing, extra = sorted(expected - found), sorted(found - expected)
        raise StimulusLayoutError(
            f"{folder}: unexpected contents (missing: {missing or 'none'}; unexpected: {extra or 'none'})"
        )


def read_index(folder: Path) -> tuple[int, int]:
    """(n_trials, n_references) of a task folder from its index.json."""
    index = folder / "index.json"
    try:
        info = json.loads(index.read_text())
    except json.JSONDecodeError as error:
        raise StimulusLayoutError(f"{index}: not valid JSON: {error}") from error
    absent = [k for k in INDEX_KEYS if not isinstance(info, dict) or k not in info]
    if absent:
        raise StimulusLayoutError(f"{index}: missing key(s) {absent}; expected {list(INDEX_KEYS)}")
    if info.get("catch_trial_idxs"):
        raise StimulusLayoutError(
            f"{index} lists catch trials: this is an experiment (HIT) folder whose trials show different units, "
            "not one folder per unit; the unit of each of its trials is only in the experiment's structure JSON"
        )
    try:
        return int(info["n_trials"]), int(info["n_reference_images"])
    except (TypeError, ValueError) as error:
        raise StimulusLayoutError(f"{index}: n_trials and n_reference_images must be integers") from error


def read_trials(root: Path, folder: Path) -> tuple[Trial, ...]:
    """The trials of one task folder, every file checked: exactly trial_1 … trial_n, each with the
    two queries and K references per side."""
    n_trials, n_refs = read_index(folder)
    if n_trials < 1 or n_refs < 1:
        raise StimulusLayoutError(f"{folder / 'index.json'}: needs at least one trial and one reference")
    trials_dir = folder / "trials"
    _expect(trials_dir, _names(trials_dir), {f"trial_{i}" for i in range(1, n_trials + 1)})
    refs = {f"{side}_{j}.png" for side in ("max", "min") for j in range(n_refs)}
    trials = []
    for i in range(1, n_trials + 1):
        trial = trials_dir / f"trial_{i}"
        _expect(trial / "queries", _names(trial / "queries"), set(QUERIES))
        _expect(trial / "references", _names(trial / "references"), refs)
        rel = trial.relative_to(root).as_posix()
        trials.append(
            Trial(
                max_query=f"{rel}/queries/max.png",
                min_query=f"{rel}/queries/min.png",
                max_refs=tuple(f"{rel}/references/max_{j}.png" for j in range(n_refs)),
                min_refs=tuple(f"{rel}/references/min_{j}.png" for j in range(n_refs)),
            )
        )
    return tuple(trials)


def batch_trial(prefix: str) -> Trial:
    """The trial of one batch folder (``prefix``: its path relative to the root): items 0–8 are
    the references, 9 the query."""
    refs = {side: tuple(f"{prefix}/{side}_{i}.png" for i in range(N_ITEMS - 1)) for side in ("max", "min")}
    return Trial(f"{prefix}/max_{N_ITEMS - 1}.png", f"{prefix}/min_{N_ITEMS - 1}.png", refs["max"], refs["min"])


def read_batches(root: Path, folder: Path) -> tuple[tuple[Trial, ...], tuple[int, ...]]:
    """The trials of one unit folder in the generation layout, every file checked."""
    numbers = {}
    for child in folder.iterdir():
        match = BATCH.fullmatch(child.name)
        if match is None and not child.name.startswith("."):
            raise StimulusLayoutError(f"{child}: expected only batch_<b> folders in a unit folder")
        if match:
            numbers[int(match[1])] = child
    expected = {f"{side}_{i}.png" for side in ("max", "min") for i in range(N_ITEMS)}
    for number in sorted(numbers):
        _expect(numbers[number], _names(numbers[number]), expected)
    batches = tuple(sorted(numbers))
    return tuple(batch_trial(numbers[b].relative_to(root).as_posix()) for b in batches), batches


def _unit_folders(root: Path) -> list[tuple[Path, str]]:
    """(folder, layout) of every unit: task folders (index.json), else generation-layout folders."""
    indexes = sorted(root.rglob("index.json"))
    if indexes:
        return [(index.parent, "task") for index in indexes]
    folders = sorted({p.parent.parent for p in root.rglob("batch_*/max_9.png")})
    if not folders:
        raise StimulusLayoutError(
            f"no unit folder below {root} (config key 'imi.stimuli_dir'): expected task folders (index.json) or "
            "batch_<b>/{max,min}_{0..9}.png folders"
        )
    return [(folder, "batches") for folder in folders]


def parse_stimuli(
    root: str | Path, pattern: str = DEFAULT_PATTERN, conditions: list[str] | None = None
) -> list[UnitStimuli]:
    """Every unit's task folder below ``root`` (in ``conditions`` if given), sorted by unit."""
    root = Path(root)
    if not root.is_dir():
        raise StimulusLayoutError(f"IMI stimuli folder not found: {root} (config key 'imi.stimuli_dir')")
    regex = compile_pattern(pattern)
    units: dict[tuple, UnitStimuli] = {}
    for path, layout in _unit_folders(root):
        folder = path.relative_to(root).as_posix()
        match = regex.fullmatch(folder)
        if match is None:
            raise StimulusLayoutError(
                f"{path}: its path below {root}, {folder!r}, does not match imi.stimuli_pattern {pattern!r}"
            )
        if match["mode"] not in MODES or not match["channel"].isdigit():
            raise StimulusLayoutError(f"{path}: mode must be one of {MODES} and channel an integer")
        model, difficulty = split_condition(match["model"])
        condition = condition_of(match["mode"], difficulty)
        if conditions and condition not in conditions:
            continue
        if layout == "task":
            trials = read_trials(root, path)
            batches = tuple(range(1, len(trials) + 1))
        else:
            trials, batches = read_batches(root, path)
        unit = UnitStimuli(model, condition, match["layer"], int(match["channel"]), folder, trials, batches)
        if unit.key in units:
            raise StimulusLayoutError(f"unit {unit.key} has two task folders: {units[unit.key].folder} and {folder}")
        units[unit.key] = unit
    if not units:
        raise StimulusLayoutError(
            f"no task folder below {root} is in the conditions {conditions} (key 'imi.conditions')"
        )
    return [units[key] for key in sorted(units)]


def stimulus_tasks(units: list[UnitStimuli]) -> tuple[list[str], list[tuple[np.ndarray, Tasks]]]:
    """The sorted list of every image file the units use, and ``Tasks`` indexing it: one per group
    of units with the same (N, K), with the positions of those units in ``units``."""
    paths = sorted({p for u in units for t in u.trials for p in (t.max_query, t.min_query, *t.max_refs, *t.min_refs)})
    index = {path: i for i, path in enumerate(paths)}
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for position, unit in enumerate(units):
        groups[(len(unit.trials), len(unit.trials[0].max_refs))].append(position)
    tasks = []
    for _, positions in sorted(groups.items()):
        trials = [units[p].trials for p in positions]
        arrays = [_indices(trials, index, side, kind) for side in ("max", "min") for kind in ("refs", "query")]
        tasks.append((np.array(positions), Tasks(*arrays)))
    return paths, tasks


def _indices(trials: list[tuple[Trial, ...]], index: dict[str, int], side: str, kind: str) -> np.ndarray:
    """Image indices of one field of every trial: (units, N, K) for refs, (units, N) for queries."""
    if kind == "refs":
        return np.array([[[index[path] for path in getattr(t, f"{side}_refs")] for t in ts] for ts in trials])
    return np.array([[index[getattr(t, f"{side}_query")] for t in ts] for ts in trials])


def unit_frame_keys(units: list[UnitStimuli]) -> dict[str, list]:
    """The ``UNIT_KEYS`` columns of a table with one row per unit."""
    return {key: [getattr(u, key) for u in units] for key in UNIT_KEYS}
