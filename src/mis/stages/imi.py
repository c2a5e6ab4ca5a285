"""The IMI stages (validation against the human data, Fig. 2 and its appendix): download the
release, score the human responses, compute the IMI units' MIS from the images humans saw, fit α,
and the appendix's tables. Each stage imports what only it needs (pooch, torch) when it runs."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mis.imi import DOI
from mis.imi.alpha import join_units, validate
from mis.imi.appendix import overestimated_units, similarity_comparison
from mis.imi.release import stimuli_source
from mis.imi.responses import score_responses
from mis.imi.selection import extreme_units
from mis.results import read_units
from mis.settings import ScoringSettings, ValidationSettings
from mis.storage import read_table, write_json, write_table

log = logging.getLogger(__name__)


def download_imi(
    data_dir: str | os.PathLike,
    needed: list[str],
    report_path: str | os.PathLike,
    doi: str = DOI,
    files: list[str] | None = None,
    sha256: dict[str, str] | None = None,
    allow_unverified: bool = False,
    timeout: float = 30,
) -> dict[str, Any]:
    """The release in ``data_dir`` (``mis.imi.download.fetch_release``) and the report of every
    file, checksum and path found."""
    from mis.imi.download import fetch_release

    report = fetch_release(data_dir, needed, doi, files, sha256, allow_unverified, timeout)
    write_json(report_path, report)
    return report


def score_human_responses(
    responses_path: str | os.PathLike,
    level: float,
    trials_path: str | os.PathLike,
    his_path: str | os.PathLike,
    models_path: str | os.PathLike,
) -> pd.DataFrame:
    """Tidy main trials, per-unit HIS and per-model counts of one response table."""
    table, trials, scores, counts = score_responses(responses_path, level)
    conditions = ", ".join(sorted(scores["condition"].unique()))
    log.info(
        "%s: %d rows, %d main trials, %d units (%s)", responses_path, len(table), len(trials), len(scores), conditions
    )
    for name in counts.loc[counts["empty"], "model"]:
        log.warning("%s: model %s has no main trials (reported in %s)", responses_path, name, models_path)
    write_table(trials, trials_path)
    write_table(scores, his_path)
    write_table(counts, models_path)
    return scores


def compute_imi_mis(
    files_path: str | os.PathLike,
    human_trials_path: str | os.PathLike,
    trials_from: str,
    conditions: list[str],
    imagenet_train: str | os.PathLike,
    stimuli_dir: str | None,
    pattern: str,
    scoring: ScoringSettings,
    device: str,
    threads: int,
    outputs: dict[str, str | os.PathLike],
) -> pd.DataFrame:
    """Task margins and MIS of the IMI units by ``scoring``'s similarity and α, from the images
    humans saw (``stimuli_source``: rebuilt from the file map and ImageNet-train, or read from the
    stimuli), their trials' image paths and the coverage against the human trials; ``outputs``:
    paths of margins, units, trials, coverage."""
    import torch

    from mis.imi.scores import (
        coverage_table,
        load_units,
        log_coverage,
        margins_table,
        stimulus_margins,
        trials_table,
        units_table,
    )
    from mis.models import select_device

    file_map, root = stimuli_source(trials_from, files_path, imagenet_train, stimuli_dir)
    units = load_units(trials_from, conditions, root, file_map, pattern)
    torch.set_num_threads(threads)
    coverage = coverage_table(units, pd.read_parquet(human_trials_path), conditions)
    log_coverage(coverage, outputs["coverage"])
    margins = stimulus_margins(units, root, scoring.similarity, select_device(device))
    table = units_table(units, margins, scoring.alpha)
    write_table(margins_table(units, margins), outputs["margins"])
    write_table(trials_table(units), outputs["trials"])
    write_table(coverage, outputs["coverage"])
    write_table(table, outputs["units"])
    return table


STUDY = "study"  # the condition of the human study's units in a pooled α fit


def fit_alpha(
    his_path: str | os.PathLike,
    margins_path: str | os.PathLike,
    conditions: list[str],
    settings: ValidationSettings,
    summary_path: str | os.PathLike,
    units_path: str | os.PathLike,
    models_path: str | os.PathLike,
    study: tuple[str | os.PathLike, str | os.PathLike] | None = None,
) -> dict[str, Any]:
    """Fit α and validate MIS against HIS; write the summary (JSON) and the unit and model tables.
    With ``study`` (the human study's HIS and task margins, ``experiment.fit_alpha``), its units join
    IMI's under the condition ``study``: α is fitted, and held-out units drawn, over both."""
    his = pd.read_csv(his_path, dtype={"model": str, "condition": str, "layer": str})
    units, margins = join_units(his, read_table(margins_path), conditions)
    if study:
        study_his = pd.read_csv(study[0], dtype={"model": str, "condition": str, "layer": str})
        study_units, study_margins = join_units(study_his, read_table(study[1]), sorted(set(study_his["condition"])))
        log.info("%d IMI units and %d units of the human study", len(units), len(study_units))
        width = max(margins.shape[1], study_margins.shape[1])
        margins = np.vstack(
            [np.pad(m, ((0, 0), (0, width - m.shape[1])), constant_values=np.nan) for m in (margins, study_margins)]
        )
        units = pd.concat([units, study_units.assign(condition=STUDY)], ignore_index=True)
    summary, table, models = validate(units, margins, settings)
    summary["conditions"] = list(conditions) + ([STUDY] if study else [])
    log.info(
        "α = %.4g (%s); held-out units: Pearson %.3f, Spearman %.3f",
        summary["alpha"],
        settings.objective,
        summary["held_out"]["unit"]["pearson"]["r"],
        summary["held_out"]["unit"]["spearman"]["r"],
    )
    write_table(table, units_path)
    write_table(models, models_path)
    write_json(summary_path, summary)
    return summary


def compare_similarities(
    units_paths: Mapping[str, str | os.PathLike],
    labels: Mapping[str, str],
    n_simulations: int,
    seed: int,
    path: str | os.PathLike,
) -> pd.DataFrame:
    table = similarity_comparison({name: read_table(p) for name, p in units_paths.items()}, labels, n_simulations, seed)
    write_table(table, path)
    return table


def find_overestimated_units(
    units_path: str | os.PathLike,
    trials_path: str | os.PathLike,
    files_path: str | os.PathLike,
    trials_from: str,
    imagenet_train: str | os.PathLike,
    stimuli_dir: str | None,
    n: int,
    path: str | os.PathLike,
) -> pd.DataFrame:
    """The units where MIS overestimates HIS most, with one trial's image paths resolved against the
    folder compute_imi_mis read them from (``stimuli_source``), so that the figure only draws."""
    _, root = stimuli_source(trials_from, files_path, imagenet_train, stimuli_dir)
    table = overestimated_units(read_table(units_path), read_table(trials_path), n)
    for column in ("max_query", "min_query"):
        table[column] = [str(root / image) for image in table[column]]
    for column in ("max_refs", "min_refs"):
        table[column] = [";".join(str(root / image) for image in refs.split(";")) for refs in table[column]]
    write_table(table, path)
    return table


def join_imi_units(
    imi_units_path: str | os.PathLike,
    specs: Mapping[str, dict[str, Any]],
    unit_tables: Mapping[str, str],
    table_path: str | os.PathLike,
    summary_path: str | os.PathLike,
) -> pd.DataFrame:
    from mis.imi.layers import join_unit_tables  # builds the models: torch

    imi_units = pd.read_csv(imi_units_path, dtype={"layer": str})
    table, summary = join_unit_tables(imi_units, specs, unit_tables)
    write_table(table, table_path)
    write_json(summary_path, summary)
    return table


def select_extreme_units(units_paths: Sequence[str | os.PathLike], n: int, path: str | os.PathLike) -> pd.DataFrame:
    table = extreme_units(read_units(units_paths), n)
    write_table(table, path)
    return table
