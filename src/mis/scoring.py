"""The Machine Interpretability Score from image embeddings, vectorised over units and tasks.

With unit-norm embeddings the mean cosine similarity of a query q to a reference set E is q·ē
(ē the mean reference embedding), so the task margin of method.md §3,
    Δ = [s̄(q⁺,E⁺) − s̄(q⁺,E⁻)] − [s̄(q⁻,E⁺) − s̄(q⁻,E⁻)],
factorises into Δ = (q⁺ − q⁻)·(ē⁺ − ē⁻): one gather and one dot product per task.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from mis.formula import hard_accuracy, unit_mis
from mis.tasks import Tasks

PathLike = str | os.PathLike

# A Gram entry (a D-dim dot product, compute-bound) costs about 1/37 of gathering one D-dim
# embedding row for a task (memory-bound), as measured on CPU by benchmarks/scoring.py.
GRAM_ENTRIES_PER_SLOT = 37


@dataclass
class Scores:
    mis: np.ndarray  # (units,) mean over tasks of σ(α·Δ)
    hard_accuracy: np.ndarray  # (units,) mean over tasks of 1[Δ > 0]
    margins: np.ndarray  # (units, N) Δ per task


def task_margins(
    embeddings: np.ndarray, tasks: Tasks, max_gram_images: int = 16384, max_bytes: int = 256 << 20
) -> np.ndarray:
    """Δ for every (unit, task): (units, N). ``embeddings`` are unit-norm rows indexed by image.

    numpy only: scoring is a small share of the pipeline's cost (benchmarks/README.md), so the
    compute_mis jobs do without torch and its start-up.

    When the images the tasks use are few, and shared by enough tasks that a similarity (Gram)
    matrix of them costs less than gathering their embeddings task by task, it is computed once and
    Δ is a gather of its entries; otherwise mean reference embeddings are gathered in chunks of
    units that keep the (chunk, N, K, D) intermediate under ``max_bytes``, and
    Δ = (q⁺ − q⁻)·(ē⁺ − ē⁻).
    """
    arrays = [tasks.max_refs, tasks.min_refs, tasks.max_queries, tasks.min_queries]
    used, inverse = np.unique(np.concatenate([a.ravel() for a in arrays]), return_inverse=True)
    n_slots = len(inverse)  # image embeddings the gather path reads
    if len(used) <= max_gram_images and len(used) ** 2 <= GRAM_ENTRIES_PER_SLOT * n_slots:
        local = embeddings[used]
        gram = local @ local.T
        sizes = np.cumsum([0] + [a.size for a in arrays])
        max_refs, min_refs, max_q, min_q = (
            inverse[lo:hi].reshape(a.shape) for lo, hi, a in zip(sizes[:-1], sizes[1:], arrays)
        )

        def mean_sim(queries: np.ndarray, refs: np.ndarray) -> np.ndarray:
            return gram[queries[..., None], refs].mean(axis=-1)

        return (
            mean_sim(max_q, max_refs)
            - mean_sim(max_q, min_refs)
            - mean_sim(min_q, max_refs)
            + mean_sim(min_q, min_refs)
        )

    n_units, n_tasks, n_refs = tasks.shape
    chunk = max(1, max_bytes // (2 * n_tasks * n_refs * embeddings.shape[1] * embeddings.itemsize))
    out = []
    for start in range(0, n_units, chunk):
        max_refs, min_refs, max_q, min_q = (a[start : start + chunk] for a in arrays)
        ref_diff = embeddings[max_refs].mean(axis=-2) - embeddings[min_refs].mean(axis=-2)
        query_diff = embeddings[max_q] - embeddings[min_q]
        out.append(np.einsum("utd,utd->ut", ref_diff, query_diff))
    return np.concatenate(out)


def scores_from_margins(margins: np.ndarray, alpha: float) -> Scores:
    """Per-unit MIS (mean of σ(α·Δ) over tasks) and hard accuracy (share of tasks with Δ > 0), by
    ``mis.formula``."""
    margins = np.asarray(margins, dtype=np.float64)
    return Scores(mis=unit_mis(margins, alpha), hard_accuracy=hard_accuracy(margins), margins=margins)


def score_tasks(embeddings: np.ndarray, tasks: Tasks, alpha: float) -> Scores:
    """Per-unit MIS and hard accuracy from unit-norm embeddings."""
    return scores_from_margins(task_margins(embeddings, tasks), alpha)
