"""Task margins straight from image files, for the callers without the workflow's embedding store
(the IMI stimuli, ``mis.api``): one place that chooses between embedding and pairwise backends."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mis.scoring import task_margins
from mis.similarity.backends import backend
from mis.similarity.embedding import build_embedder, embed_paths
from mis.similarity.pairwise import build_pairwise, pairwise_task_margins
from mis.tasks import Tasks


def margins_function(
    similarity: dict[str, Any],
    root: str | Path,
    paths: Sequence[str],
    batch_size: int,
    num_workers: int,
    device: torch.device,
) -> Callable[[Tasks], np.ndarray]:
    """Δ per (unit, task) for tasks whose indices are positions in ``paths`` (below ``root``).
    Embedding backends embed each image once, up front, and fail naming unreadable images;
    pairwise backends compare each task's image pairs when called."""
    if backend(similarity["backend"]).pairwise:
        pairs = build_pairwise(similarity, device)
        return lambda tasks: pairwise_task_margins(pairs, tasks, root, paths, batch_size, num_workers).cpu().numpy()
    embeddings, readable = embed_paths(
        build_embedder(similarity, device), str(root), list(paths), batch_size, num_workers
    )
    if not readable.all():
        bad = [paths[i] for i in np.flatnonzero(~readable)]
        raise ValueError(f"{len(bad)} images below {root} could not be read, e.g. {bad[:5]}")
    return lambda tasks: task_margins(embeddings, tasks)
