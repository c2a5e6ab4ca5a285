"""How MIS converges with the number of tasks N (the paper's appendix analysis).

Two scenarios, for n = 1 … N tasks per unit, against the MIS from all N tasks:
- ``nested``: the first n of the N tasks; adding a task leaves the earlier ones unchanged;
- ``resampled``: tasks sampled afresh for n, from the unit's n·(K+1) most extreme images per side;
  adding a task changes which images every task uses (the realistic scenario).
Reported: the mean absolute difference |MIS_n − MIS_N| over a model's non-constant units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mis.scoring import scores_from_margins, task_margins
from mis.tasks import draw_tasks, task_rng


def _mis(margins: np.ndarray, alpha: float) -> np.ndarray:
    return scores_from_margins(margins, alpha).mis


def convergence_table(
    model: str,
    top_idx: np.ndarray,
    bottom_idx: np.ndarray,
    live: np.ndarray,
    embeddings: np.ndarray,
    n_tasks: int,
    n_refs: int,
    alpha: float,
    seed: int,
) -> pd.DataFrame:
    """Rows (model, scenario, n_tasks, mean_abs_diff, sem, n_units) for n = 1 … ``n_tasks``.

    ``top_idx``/``bottom_idx``: (units, ≥ N·(K+1)) most extreme images first; ``live``: mask of
    the non-constant units to include.
    """
    top, bottom = top_idx[live], bottom_idx[live]
    full = task_margins(embeddings, draw_tasks(top, bottom, n_tasks, n_refs, task_rng(seed, model)))
    reference = _mis(full, alpha)
    rows = []
    for n in range(1, n_tasks + 1):
        nested = _mis(full[:, :n], alpha)
        if n == n_tasks:  # the same seed samples the full tasks again
            resampled = reference
        else:
            resampled = _mis(task_margins(embeddings, draw_tasks(top, bottom, n, n_refs, task_rng(seed, model))), alpha)
        for scenario, mis in (("nested", nested), ("resampled", resampled)):
            diff = np.abs(mis - reference)
            rows.append(
                {
                    "model": model,
                    "scenario": scenario,
                    "n_tasks": n,
                    "mean_abs_diff": diff.mean(),
                    "sem": diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0,
                    "n_units": len(diff),
                }
            )
    return pd.DataFrame(rows)
