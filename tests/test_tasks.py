"""The fair-batches sampler: exact layout, every image once, seeded determinism."""

from __future__ import annotations

import numpy as np
import pytest

from mis.tasks import draw_tasks, strata, task_rng

N, K = 20, 9


def known_ranking(n_units: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Unit u's top images are 10_000·u + 1000 + (rank − 1), bottom ones 10_000·u + (rank − 1)."""
    base = 10_000 * np.arange(n_units)[:, None]
    top = base + 1000 + np.arange(N * (K + 1))
    bottom = base + np.arange(N * (K + 1))
    return top, bottom


def test_layout_for_paper_setting() -> None:
    top, bottom = known_ranking()
    tasks = draw_tasks(top, bottom, N, K, np.random.default_rng(0))
    assert tasks.max_refs.shape == (3, N, K) and tasks.max_queries.shape == (3, N)
    for u in range(3):
        top_rank = tasks.max_refs[u] - 10_000 * u - 1000 + 1  # 1-based activation rank
        query_rank = tasks.max_queries[u] - 10_000 * u - 1000 + 1
        bottom_rank = tasks.min_refs[u] - 10_000 * u + 1
        bottom_query_rank = tasks.min_queries[u] - 10_000 * u + 1
        # queries: ranks 181–200 on both sides, one per task
        assert sorted(query_rank) == list(range(181, 201))
        assert sorted(bottom_query_rank) == list(range(181, 201))
        # reference j of every task comes from stratum j; stratum K−1 = ranks 1–20 (most extreme)
        for j in range(K):
            lo = (K - 1 - j) * N + 1
            assert sorted(top_rank[:, j]) == list(range(lo, lo + N))
            assert sorted(bottom_rank[:, j]) == list(range(lo, lo + N))
        # every one of the 400 images is used exactly once
        used = np.concatenate(
            [tasks.max_refs[u].ravel(), tasks.max_queries[u], tasks.min_refs[u].ravel(), tasks.min_queries[u]]
        )
        assert len(used) == len(set(used)) == 2 * N * (K + 1)


def test_strata_bins() -> None:
    ranked = np.arange(12)[None]  # N = 3, K = 3: blocks [0,1,2] [3,4,5] [6,7,8] | queries [9,10,11]
    np.testing.assert_array_equal(strata(ranked, 3, 3)[0], [[6, 7, 8], [3, 4, 5], [0, 1, 2], [9, 10, 11]])


def test_shuffle_is_seeded() -> None:
    top, bottom = known_ranking()
    a = draw_tasks(top, bottom, N, K, task_rng(0, "resnet50"))
    b = draw_tasks(top, bottom, N, K, task_rng(0, "resnet50"))
    c = draw_tasks(top, bottom, N, K, task_rng(1, "resnet50"))
    d = draw_tasks(top, bottom, N, K, task_rng(0, "googlenet"))
    for name in ("max_refs", "max_queries", "min_refs", "min_queries"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.max_refs, c.max_refs)
    assert not np.array_equal(a.max_refs, d.max_refs)
    # shuffling happens within strata: not the identity order
    assert not np.array_equal(np.sort(a.max_queries[0]), a.max_queries[0])


def test_too_few_ranked_images_is_an_error() -> None:
    top, bottom = known_ranking()
    with pytest.raises(ValueError, match="need the 200 most extreme images"):
        draw_tasks(top[:, :150], bottom[:, :150], N, K, np.random.default_rng(0))
