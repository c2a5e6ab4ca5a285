"""The scores stage: per-unit MIS and hard accuracy of a model (method.md §3), and the per-model
summary. numpy only, unless the similarity backend is pairwise (it loads torch and its network)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mis.embeddings import task_embeddings
from mis.results import model_summary, read_units, unit_table
from mis.scoring import scores_from_margins, task_margins
from mis.settings import ScoringSettings, SimilaritySettings
from mis.storage import read_arrays, read_table, write_table
from mis.tasks import Tasks, read_tasks, rows_of

PathLike = str | os.PathLike


def model_margins(
    tasks: Tasks,
    similarity: SimilaritySettings,
    embeddings_path: PathLike | None,
    cache_dir: PathLike | None,
    images_root: PathLike,
    manifest_path: PathLike | None,
    device: str,
) -> np.ndarray:
    """Δ of every (unit, task) of ``tasks`` (units, N): from the model's embeddings in the store at
    ``cache_dir`` (embedding backends; ``embeddings_path`` is embed_images' receipt), or by comparing
    every task's image pairs (pairwise backends)."""
    if similarity.pairwise:  # torch and the backend's networks: only here
        from mis.models import select_device
        from mis.similarity.margins import margins_function

        paths = list(read_table(manifest_path)["path"])
        margins_of = margins_function(
            similarity.spec, images_root, paths, similarity.batch_size, similarity.num_workers, select_device(device)
        )
        return margins_of(tasks)
    images, embeddings = task_embeddings(embeddings_path, cache_dir)
    return task_margins(embeddings, rows_of(tasks, images, embeddings_path))


def compute_mis(
    model_name: str,
    tasks_path: PathLike,
    extremes_path: PathLike,
    layers_path: PathLike,
    scoring: ScoringSettings,
    embeddings_path: PathLike | None,
    cache_dir: PathLike | None,
    images_root: PathLike,
    manifest_path: PathLike | None,
    device: str,
    units_path: PathLike,
) -> None:
    """Per-unit MIS and hard accuracy for one model, as a tidy table, from its task margins
    (``model_margins``)."""
    margins = model_margins(
        read_tasks(tasks_path), scoring.similarity, embeddings_path, cache_dir, images_root, manifest_path, device
    )
    scores = scores_from_margins(margins, scoring.alpha)
    if np.isnan(scores.margins).any():
        raise ValueError(f"NaN MIS for {model_name}: a task uses an image that could not be read or embedded")
    extremes = read_arrays(extremes_path)
    ties = (extremes["top_ties"], extremes["bottom_ties"])
    table = unit_table(
        model_name,
        read_table(layers_path),
        (extremes["top_val"][:, 0], extremes["bottom_val"][:, 0]),
        scores.mis,
        scores.hard_accuracy,
        scoring.constant_threshold,
        ties,
        extremes["non_finite"] > 0,
    )
    write_table(table, units_path)


def summarize_models(units_paths: Sequence[str | os.PathLike], summary_path: str | os.PathLike) -> pd.DataFrame:
    """Per-model summary over all models' unit tables."""
    summary = model_summary(read_units(units_paths))
    write_table(summary, summary_path)
    return summary
