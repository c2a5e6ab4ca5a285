"""The Machine Interpretability Score from image embeddings, vectorised over units and tasks.

With unit-norm embeddings the mean cosine similarity of a query q to a reference set E is q·ē
(ē the mean reference embedding), so the task margin of method.md §3,
    Δ = [s̄(q⁺,E⁺) − s̄(q⁺,E⁻)] − [s̄(q⁻,E⁺) − s̄(q⁻,E⁻)],
factorises into Δ = (q⁺ − q⁻)·(ē⁺ − ē⁻): one gather and one dot product per task.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mis.formula import hard_accuracy, unit_mis
from mis.tasks import Tasks

# A Gram entry (a D-dim dot product, compute-bound) costs about 1/37 of gathering one D-dim
# embedding row for a task (memory-bound), as measured on CPU by benchmarks/scoring.py.
GRAM_ENTRIES_PER_SLOT = 37


@dataclass
class Scores:
    mis: np.ndarray  # (units,) mean over tasks of σ(α·Δ)
    hard_accuracy: np.ndarray  # (units,) mean over tasks of 1[Δ > 0]
    margins: np.ndarray  # (units, N) Δ per task


def task_margins(
    embeddings: torch.Tensor, tasks: Tasks, max_gram_images: int = 16384, max_bytes: int = 256 << 20
) -> torch.Tensor:
    """Δ for every (unit, task): (units, N). ``embeddings`` are unit-norm rows indexed by image.

    When the images the tasks use are few, and shared by enough tasks that a similarity (Gram)
    matrix of them costs less than gathering their embeddings task by task, it is computed once and
    Δ is a gather of its entries; otherwise mean reference embeddings come from
    ``embedding_bag`` (no (units, N, K, D) intermediate), in chunks of units that keep the
    intermediates under ``max_bytes``, and Δ = (q⁺ − q⁻)·(ē⁺ − ē⁻).
    """
    arrays = [tasks.max_refs, tasks.min_refs, tasks.max_queries, tasks.min_queries]
    used, inverse = np.unique(np.concatenate([a.ravel() for a in arrays]), return_inverse=True)
    device = embeddings.device
    n_slots = len(inverse)  # image embeddings the gather path reads
    if len(used) <= max_gram_images and len(used) ** 2 <= GRAM_ENTRIES_PER_SLOT * n_slots:
        local = embeddings[torch.as_tensor(used, device=device)]
        gram = local @ local.T
        sizes = np.cumsum([0] + [a.size for a in arrays])
        max_refs, min_refs, max_q, min_q = (
            torch.as_tensor(inverse[lo:hi].reshape(a.shape), device=device)
            for lo, hi, a in zip(sizes[:-1], sizes[1:], arrays)
        )

        def mean_sim(queries: torch.Tensor, refs: torch.Tensor) -> torch.Tensor:
            return gram[queries[..., None], refs].mean(dim=-1)

        return (
            mean_sim(max_q, max_refs)
            - mean_sim(max_q, min_refs)
            - mean_sim(min_q, max_refs)
            + mean_sim(min_q, min_refs)
        )

    n_units, n_tasks, n_refs = tasks.shape
    chunk = max(1, max_bytes // (2 * n_tasks * embeddings.shape[1] * embeddings.element_size()))
    out = []
    for start in range(0, n_units, chunk):
        max_refs, min_refs, max_q, min_q = (torch.as_tensor(a[start : start + chunk], device=device) for a in arrays)

        def mean_embedding(refs: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.embedding_bag(refs.reshape(-1, n_refs), embeddings, mode="mean")

        ref_diff = mean_embedding(max_refs) - mean_embedding(min_refs)
        query_diff = embeddings[max_q.reshape(-1)] - embeddings[min_q.reshape(-1)]
        out.append((ref_diff * query_diff).sum(dim=-1).reshape(-1, n_tasks))
    return torch.cat(out)


def scores_from_margins(margins: torch.Tensor, alpha: float) -> Scores:
    """Per-unit MIS (mean of σ(α·Δ) over tasks) and hard accuracy (share of tasks with Δ > 0), by
    ``mis.formula``."""
    margins = margins.double().cpu().numpy()
    return Scores(mis=unit_mis(margins, alpha), hard_accuracy=hard_accuracy(margins), margins=margins)


def score_tasks(embeddings: torch.Tensor, tasks: Tasks, alpha: float) -> Scores:
    """Per-unit MIS and hard accuracy from unit-norm embeddings."""
    return scores_from_margins(task_margins(embeddings, tasks), alpha)


def normalise(embeddings: torch.Tensor) -> torch.Tensor:
    """Unit-norm rows, so that dot products are cosine similarities."""
    return torch.nn.functional.normalize(embeddings.float(), dim=1)
