"""The MIS-vs-N convergence analysis."""

from __future__ import annotations

import numpy as np

from mis.analysis.convergence import convergence_table

from conftest import unit_rows


def test_differences_vanish_at_full_n_and_shrink_with_n() -> None:
    rng = np.random.default_rng(0)
    n_units, n_images, n_tasks, n_refs = 200, 300, 8, 3
    emb = unit_rows(rng.normal(size=(n_images, 16)))
    ranking = np.stack([rng.permutation(n_images) for _ in range(n_units)])
    k = n_tasks * (n_refs + 1)
    live = np.ones(n_units, dtype=bool)
    live[:10] = False
    table = convergence_table(
        "m", ranking[:, :k], ranking[:, ::-1][:, :k], live, emb, n_tasks, n_refs, alpha=16.0, seed=0
    )
    assert len(table) == 2 * n_tasks and set(table["n_units"]) == {190}
    for scenario, rows in table.groupby("scenario"):
        diffs = rows.sort_values("n_tasks")["mean_abs_diff"].to_numpy()
        assert diffs[-1] == 0.0, scenario
        assert diffs[0] > diffs[n_tasks // 2] > 0, scenario
