"""2-AFC tasks per unit by the "fair batches" scheme (Borowski et al. 2021; IMI), vectorised over units.

For N tasks with K references per side, each side needs its N·(K+1) most extreme images:
the K·N most extreme are references, the next N (slightly less extreme) are the queries.
The references are cut into K strata of N consecutive ranks, each stratum (and the query block)
is shuffled with a seeded generator, and task i takes element i of every stratum. Every image is
used exactly once over the N tasks, and every task sees one reference from each stratum.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass

import numpy as np

from mis.settings import TaskSettings
from mis.storage import read_arrays


@dataclass
class Tasks:
    """Image indices; refs are (units, N, K) with reference j from stratum j (K−1 = most extreme),
    queries are (units, N)."""

    max_refs: np.ndarray
    max_queries: np.ndarray
    min_refs: np.ndarray
    min_queries: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.max_refs.shape


CONFIG_KEYS = ("tasks.n_tasks", "tasks.n_refs")


class TooFewImages(ValueError):
    """The image set cannot give every unit 2·N·(K+1) distinct task images. Raised as soon as the
    image count is known, before the pass over the images; ``names`` are what N and K are called
    where they were given (config keys, arguments, command-line flags), and ``named`` rewords it
    for another."""

    def __init__(self, n_images: int, per_side: int, names: tuple[str, str] = CONFIG_KEYS):
        self.n_images, self.per_side = n_images, per_side
        super().__init__(
            f"{n_images} images, but the tasks need 2·N·(K+1) = {2 * per_side} (the N·(K+1) = {per_side} most and "
            f"least activating per unit, disjoint): lower {names[0]} or {names[1]}, or add images"
        )

    def named(self, n_tasks: str, n_refs: str) -> TooFewImages:
        return TooFewImages(self.n_images, self.per_side, (n_tasks, n_refs))


def check_image_count(n_images: int, per_side: int, names: tuple[str, str] = CONFIG_KEYS) -> None:
    """Fail early (before a pass over the images) when the set is too small for the tasks: a unit's
    tasks use ``per_side`` = N·(K+1) distinct images per side."""
    if n_images < 2 * per_side:
        raise TooFewImages(n_images, per_side, names)


def strata(ranked: np.ndarray, n_tasks: int, n_refs: int) -> np.ndarray:
    """Cut each unit's ranking (most extreme first) into K+1 bins of N: (units, K+1, N).

    Bins 0..K−1 are the reference strata ordered from least to most extreme (bin K−1 holds ranks
    1..N); bin K holds the queries (ranks K·N+1 .. (K+1)·N).
    """
    if n_tasks < 1 or n_refs < 1:
        raise ValueError(f"need at least one task and one reference, got N={n_tasks}, K={n_refs}")
    needed = TaskSettings(n_tasks, n_refs).images_per_side
    if ranked.shape[1] < needed:
        raise ValueError(f"need the {needed} most extreme images per unit, got {ranked.shape[1]}")
    blocks = ranked[:, :needed].reshape(len(ranked), n_refs + 1, n_tasks)  # block b = ranks b·N+1..(b+1)·N
    references = blocks[:, n_refs - 1 :: -1]
    return np.concatenate([references, blocks[:, n_refs:]], axis=1)


def draw_tasks(
    top_idx: np.ndarray, bottom_idx: np.ndarray, n_tasks: int, n_refs: int, rng: np.random.Generator
) -> Tasks:
    """Tasks for every unit at once.

    ``top_idx``/``bottom_idx``: (units, ≥ N·(K+1)) image indices, most extreme first (highest
    activation for top, lowest for bottom).
    """
    sides = np.stack([strata(top_idx, n_tasks, n_refs), strata(bottom_idx, n_tasks, n_refs)])  # (2, U, K+1, N)
    check_disjoint(sides)
    order = np.argsort(rng.random(sides.shape), axis=-1, kind="stable")
    shuffled = np.take_along_axis(sides, order, axis=-1)
    refs = shuffled[:, :, :n_refs].transpose(0, 1, 3, 2)  # (2, U, N, K)
    queries = shuffled[:, :, n_refs]  # (2, U, N)
    return Tasks(max_refs=refs[0], max_queries=queries[0], min_refs=refs[1], min_queries=queries[1])


def check_disjoint(sides: np.ndarray) -> None:
    """No unit may use an image as both a most and a least activating example (the extraction's
    total order guarantees it; extremes from elsewhere might not)."""
    images = np.sort(sides.transpose(1, 0, 2, 3).reshape(sides.shape[1], -1), axis=1)
    shared = (images[:, 1:] == images[:, :-1]).any(axis=1)
    if shared.any():
        unit = int(shared.argmax())
        raise ValueError(
            f"{int(shared.sum())} units use an image on both sides of their tasks (first: unit {unit}); "
            "their most and least activating images overlap"
        )


def task_rng(seed: int, model: str) -> np.random.Generator:
    """A generator per (config seed, model): adding a model leaves the other models' tasks unchanged."""
    return np.random.default_rng([seed, zlib.crc32(model.encode())])


def read_tasks(path: str | os.PathLike) -> Tasks:
    return Tasks(**read_arrays(path))


def task_images(tasks: Tasks) -> np.ndarray:
    """The distinct images the tasks use, sorted: the ones to embed."""
    return np.unique(np.concatenate([array.ravel() for array in vars(tasks).values()]))


def rows_in(images: np.ndarray, indices: np.ndarray, source: str | os.PathLike) -> np.ndarray:
    """``indices`` (image indices, any shape) as rows of ``images``, the sorted image indices that
    an embeddings file holds; an image the file lacks is an error naming the file."""
    rows = np.minimum(np.searchsorted(images, indices), len(images) - 1)
    missing = images[rows] != indices
    if missing.any():
        raise ValueError(f"{source} lacks embeddings of {int(missing.sum())} images; rerun embed_images")
    return rows


def rows_of(tasks: Tasks, images: np.ndarray, source: str | os.PathLike) -> Tasks:
    """The tasks with image indices replaced by rows of ``images`` (see ``rows_in``)."""
    return Tasks(**{name: rows_in(images, array, source) for name, array in vars(tasks).items()})
