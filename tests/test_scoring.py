"""MIS from embeddings: a hand-computed case, the two vectorised paths against a plain loop,
and the properties that a clear unit scores near 1 and a meaningless one near 0.5."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mis.scoring import score_tasks, task_margins
from mis.tasks import Tasks, draw_tasks

from conftest import unit_rows


def hand_tasks() -> tuple[np.ndarray, Tasks]:
    """Two tasks, K = 2 references per side, 2-d embeddings."""
    emb = np.array(
        [
            [1.0, 0.0],  # 0, 1: positive references
            [1.0, 0.0],
            [0.0, 1.0],  # 2, 3: negative references
            [0.0, 1.0],
            [0.6, 0.8],  # 4: task 0 positive query (looks negative)
            [0.8, 0.6],  # 5: task 0 negative query (looks positive)
            [1.0, 0.0],  # 6: task 1 positive query
            [0.0, 1.0],  # 7: task 1 negative query
        ],
        dtype=np.float32,
    )
    tasks = Tasks(
        max_refs=np.array([[[0, 1], [0, 1]]]),
        max_queries=np.array([[4, 6]]),
        min_refs=np.array([[[2, 3], [2, 3]]]),
        min_queries=np.array([[5, 7]]),
    )
    return emb, tasks


def test_hand_computed_mis() -> None:
    emb, tasks = hand_tasks()
    # task 0: Δ = (0.6 − 0.8) − (0.8 − 0.6) = −0.4;  task 1: Δ = (1 − 0) − (0 − 1) = 2
    alpha = 5.0
    expected_mis = (1 / (1 + math.exp(2.0)) + 1 / (1 + math.exp(-10.0))) / 2  # σ(−2), σ(10)
    scores = score_tasks(emb, tasks, alpha)
    np.testing.assert_allclose(scores.margins, [[-0.4, 2.0]], atol=1e-6)
    assert scores.mis[0] == pytest.approx(expected_mis, abs=1e-7)
    assert scores.mis[0] == pytest.approx(0.5595787, abs=1e-6)
    assert scores.hard_accuracy[0] == 0.5


def loop_margins(emb: np.ndarray, tasks: Tasks) -> np.ndarray:
    """The definition, written out unit by unit and task by task."""
    n_units, n_tasks, _ = tasks.shape
    out = np.zeros((n_units, n_tasks))
    for u in range(n_units):
        for t in range(n_tasks):
            qp, qn = emb[tasks.max_queries[u, t]], emb[tasks.min_queries[u, t]]
            ep, en = emb[tasks.max_refs[u, t]], emb[tasks.min_refs[u, t]]
            out[u, t] = (np.mean(ep @ qp) - np.mean(en @ qp)) - (np.mean(ep @ qn) - np.mean(en @ qn))
    return out


@pytest.mark.parametrize("max_gram_images", [16384, 0], ids=["gram", "gather"])
def test_vectorised_margins_equal_loop(max_gram_images: int) -> None:
    rng = np.random.default_rng(1)
    emb = unit_rows(rng.normal(size=(300, 16)))
    ranking = np.stack([rng.permutation(300) for _ in range(40)])
    tasks = draw_tasks(ranking[:, :24], ranking[:, ::-1][:, :24], n_tasks=4, n_refs=5, rng=rng)
    got = task_margins(emb, tasks, max_gram_images=max_gram_images, max_bytes=4096)
    np.testing.assert_allclose(got, loop_margins(emb, tasks), atol=1e-6)


def test_clear_unit_scores_near_one_and_shuffled_units_near_half() -> None:
    """A unit whose top images are near-identical (and unlike its bottom images) scores near 1;
    units whose rankings are unrelated to image content score 0.5 on average."""
    rng = np.random.default_rng(0)
    n_images, dim, n_shuffled = 400, 64, 300
    emb = rng.normal(size=(n_images, dim))
    emb[:60] = np.ones(dim) + 0.01 * rng.normal(size=(60, dim))  # near-identical "top" images
    emb[60:120] = -np.ones(dim) + 0.01 * rng.normal(size=(60, dim))  # near-identical "bottom" images
    emb = unit_rows(emb)
    shuffled = np.stack([rng.permutation(np.arange(120, n_images))[:120] for _ in range(n_shuffled)])
    top = np.concatenate([np.arange(60)[None], shuffled[:, :60]])
    bottom = np.concatenate([np.arange(60, 120)[None], shuffled[:, 60:]])
    scores = score_tasks(emb, draw_tasks(top, bottom, n_tasks=10, n_refs=5, rng=rng), alpha=16.0)
    assert scores.mis[0] > 0.99 and scores.hard_accuracy[0] == 1.0
    assert abs(scores.mis[1:].mean() - 0.5) < 0.01
    assert abs(scores.hard_accuracy[1:].mean() - 0.5) < 0.02
