"""The human study's stages (Fig. 2C; config block ``experiment``): choose the study's units, assign
every participant's trial list, build the static jsPsych site (torch, for the stimuli), merge the
session files that come back into the IMI release's response tables, score them by the IMI code,
the tables of Fig. 2C, and the study units' task margins for the α fit. ``mis.experiment`` holds
the logic; each stage imports what only it needs."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mis.analysis.fig2c import group_table, group_tests, imi_units, study_scores
from mis.experiment import CATCH, PRACTICE
from mis.experiment.design import assign_trials, response_counts, study_units
from mis.experiment.sessions import HEADER, merge_sessions
from mis.imi.responses import score_responses
from mis.results import read_units
from mis.settings import CheckSettings, DesignSettings, PageSettings, SimilaritySettings
from mis.storage import atomic_directory, read_table, write_table
from mis.tasks import Tasks, read_tasks

log = logging.getLogger(__name__)
PathLike = str | os.PathLike


def select_study_units(
    units_paths: Sequence[str | os.PathLike],
    models: Sequence[str],
    settings: DesignSettings,
    units_csv: str | None,
    path: str | os.PathLike,
) -> pd.DataFrame:
    listed = pd.read_csv(units_csv) if units_csv else None
    table = study_units(read_units(units_paths), models, settings, listed, units_csv or "")
    for (model, group), count in table.groupby(["model", "group"], sort=False).size().items():
        log.info("%s: %d %s units", model, count, group)
    write_table(table, path)
    return table


def assign_study_trials(
    units_path: str | os.PathLike, settings: DesignSettings, n_tasks: int, path: str | os.PathLike
) -> pd.DataFrame:
    trials = assign_trials(pd.read_csv(units_path), settings, n_tasks)
    counts = response_counts(trials).groupby(["model", "layer", "unit"])["n_responses"].sum()
    log.info(
        "%s: %d sessions of %d trials; %d units with %d-%d responses each",
        Path(path).name,
        trials["assignment"].max() + 1,
        (trials["assignment"] == 0).sum(),
        len(counts),
        counts.min(),
        counts.max(),
    )
    write_table(trials, path)
    return trials


def build_experiment(
    plan_path: PathLike,
    models: Sequence[str],
    units_paths: Sequence[PathLike],
    tasks_paths: Sequence[PathLike],
    manifest_path: PathLike,
    images_root: PathLike,
    out_dir: PathLike,
    page: PageSettings = PageSettings(),
    checks: CheckSettings = CheckSettings(),
) -> dict[str, Any]:
    """Write the study's site (``mis.experiment.site``) from its trial lists and the models' tasks;
    returns the content of ``data/study.js``."""
    from mis.browser import write_thumbnails  # torch and the decoders: this stage only
    from mis.experiment.site import (
        STATIC,
        TEMPLATE,
        catch_trials,
        image_path,
        study_payload,
        task_images,
        trial_entry,
        write_script,
    )

    plan = pd.read_csv(plan_path)
    rows_of, tasks_of = {}, {}
    for model, units_path, tasks_path in zip(models, units_paths, tasks_paths, strict=True):
        units = read_table(units_path)
        rows_of[model] = {
            (layer, int(unit)): row for row, (layer, unit) in enumerate(zip(units["layer"], units["unit"]))
        }
        tasks_of[model] = read_tasks(tasks_path)
    paths = list(read_table(manifest_path)["path"])
    n_refs = next(iter(tasks_of.values())).shape[2]
    entries: dict[int, list[dict[str, Any]]] = {}
    shown: set[int] = set()
    with atomic_directory(out_dir) as folder:
        (folder / "images").mkdir()
        (folder / "data").mkdir()
        catch = catch_trials(
            folder / "images",
            int((plan["kind"] == CATCH).groupby(plan["assignment"]).sum().max()),
            n_refs,
            page.image_size,
            page.seed,
        )
        for _, row in plan.iterrows():
            if row["kind"] == CATCH:
                images = catch[int(row["unit"])]
            else:
                tasks = tasks_of[row["model"]]
                rng = np.random.default_rng([page.seed, int(row["assignment"]) + 1, int(row["position"])])
                indices = task_images(
                    tasks, rows_of[row["model"]][(row["layer"], int(row["unit"]))], int(row["task"]), rng
                )
                shown.update(
                    [indices["min_query"], indices["max_query"], *indices["min_references"], *indices["max_references"]]
                )
                images = {
                    key: [image_path(i) for i in value] if isinstance(value, list) else image_path(value)
                    for key, value in indices.items()
                }
            entries.setdefault(int(row["assignment"]), []).append(trial_entry(row, images))
        written = write_thumbnails(
            images_root, paths, sorted(shown), folder / "images", page.image_size, page.num_workers
        )
        if written != len(shown):
            raise ValueError(
                f"{len(shown) - written} of the {len(shown)} stimulus images could not be read (see the log)"
            )
        practice = entries.pop(-1, [])
        for assignment, trials in entries.items():
            write_script(folder / "data" / f"assignment-{assignment}.js", "setAssignment", assignment, trials)
        payload = study_payload(page, checks, len(entries), practice)
        write_script(folder / "data" / "study.js", "setStudy", payload)
        for name in STATIC:
            shutil.copy(TEMPLATE / name, folder / name)
        shutil.copytree(TEMPLATE / "vendor", folder / "vendor")
        log.info("%d trial lists, %d stimulus images, %d catch trials per list", len(entries), written, len(catch))
    return payload


def merge_experiment_responses(
    responses_dir: str | os.PathLike,
    plan_path: str | os.PathLike,
    settings: CheckSettings,
    main_path: str | os.PathLike,
    lower_path: str | os.PathLike,
    sessions_path: str | os.PathLike,
) -> pd.DataFrame:
    """``responses_main.csv`` (sessions that passed every check, once per participant) and
    ``responses_lower_quality.csv`` (the others) of the session files in ``responses_dir``, as the
    release splits them, and a table of the sessions."""
    paths = sorted(Path(responses_dir).glob("*.csv"))
    merged, sessions = merge_sessions(paths, pd.read_csv(plan_path), settings)
    if sessions.empty:
        log.warning("%s holds no session files: the response tables are empty", responses_dir)
    else:
        log.info(
            "%d sessions (%d files): %d passed every check, %d main",
            len(sessions),
            len(paths),
            int(sessions["passed_checks"].sum()),
            int((sessions["table"] == "main").sum()),
        )
    for table, path in (("main", main_path), ("lower_quality", lower_path)):
        write_table(merged.loc[merged["_table"] == table, HEADER], path)
    write_table(sessions, sessions_path)
    return sessions


def score_experiment_responses(
    responses_path: str | os.PathLike,
    level: float,
    trials_path: str | os.PathLike,
    his_path: str | os.PathLike,
    models_path: str | os.PathLike,
) -> pd.DataFrame:
    """Tidy main trials, per-unit HIS and per-model counts of a merged table, by the IMI code
    (``mis.imi.responses``), the model table limited to the study's models (not the release's)."""
    _, trials, scores, counts = score_responses(responses_path, level)
    counts = counts[counts["model"].isin(set(trials["release_model"]))]
    log.info("%s: %d main trials of %d units", responses_path, len(trials), len(scores))
    write_table(trials, trials_path)
    write_table(scores, his_path)
    write_table(counts, models_path)
    return scores


def analyze_fig2c(
    his_path: PathLike,
    units_path: PathLike,
    imi_units_path: PathLike | None,
    n_bootstrap: int,
    level: float,
    seed: int,
    groups_path: PathLike,
    tests_path: PathLike,
    units_out_path: PathLike,
) -> pd.DataFrame:
    """The three tables of Fig. 2C: groups, tests, and the units (the study's, then IMI's)."""
    scores = study_scores(read_table(his_path), read_table(units_path))
    if scores.empty:
        raise ValueError(f"{his_path}: no study unit has a response that passed the checks; nothing to compare")
    groups = group_table(scores, n_bootstrap, level, seed)
    tests = group_tests(scores)
    for row in tests.itertuples():
        log.info(
            "%s, %s: statistic %.3g, p = %.3g (Holm %.3g)",
            row.model,
            row.comparison,
            row.statistic,
            row.p_value,
            row.p_holm,
        )
    units = pd.concat([scores, imi_units(imi_units_path)], ignore_index=True) if imi_units_path else scores
    write_table(groups, groups_path)
    write_table(tests, tests_path)
    write_table(units, units_out_path)
    return groups


def compute_study_margins(
    study_path: PathLike,
    models: Sequence[str],
    units_paths: Sequence[PathLike],
    tasks_paths: Sequence[PathLike],
    embeddings_paths: Sequence[PathLike] | None,
    similarity: SimilaritySettings,
    cache_dir: PathLike | None,
    images_root: PathLike,
    manifest_path: PathLike | None,
    device: str,
    tasks_per_unit: int | None,
    path: PathLike,
) -> pd.DataFrame:
    """The task margins Δ of the study's units (not the practice ones) over the tasks their trials
    showed, in the layout of the IMI units' margins (``mis.imi.scores.margins_table``; condition
    ``natural`` and batch = the task, as the session files have them), so that fit_alpha can fit α
    on the study's responses as well as on IMI's (``experiment.fit_alpha``). ``units_paths``,
    ``tasks_paths`` and ``embeddings_paths`` (embedding backends; None for pairwise ones) are the
    ``models``'."""
    from mis.stages.scores import model_margins  # torch, where the backend is pairwise

    study = read_table(study_path)
    study = study[study["group"] != PRACTICE]
    embeddings_paths = embeddings_paths or [None] * len(models)
    frames = []
    for model, units_path, tasks_path, embeddings_path in zip(
        models, units_paths, tasks_paths, embeddings_paths, strict=True
    ):
        chosen = study[study["model"] == model]
        if chosen.empty:
            continue
        units = read_table(units_path)
        row_of = {(layer, int(unit)): row for row, (layer, unit) in enumerate(zip(units["layer"], units["unit"]))}
        rows = np.array([row_of[(layer, int(unit))] for layer, unit in zip(chosen["layer"], chosen["unit"])])
        tasks = read_tasks(tasks_path)
        shown = min(tasks_per_unit or tasks.shape[1], tasks.shape[1])
        subset = Tasks(**{name: array[rows, :shown] for name, array in vars(tasks).items()})
        margins = model_margins(subset, similarity, embeddings_path, cache_dir, images_root, manifest_path, device)
        frames.append(
            pd.DataFrame(
                {
                    "model": model,
                    "condition": "natural",
                    "layer": np.repeat(chosen["layer"].to_numpy(), shown),
                    "channel": np.repeat(chosen["unit"].to_numpy(), shown),
                    "task": np.tile(np.arange(1, shown + 1), len(chosen)),
                    "batch": np.tile(np.arange(shown), len(chosen)),
                    "margin": margins.ravel(),
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    log.info("%d study units, %d task margins", len(study), len(table))
    write_table(table, path)
    return table
