"""Fig. 4: ImageNet top-1 accuracy against average per-unit MIS, and the per-unit MIS of models
spanning the range of variability."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from scipy import stats

PathLike = str | os.PathLike


def with_accuracy(summary: pd.DataFrame, accuracy: pd.DataFrame) -> pd.DataFrame:
    """Model summary rows joined with ImageNet top-1 accuracy; models without a listed accuracy are
    left out (the table states where every number comes from)."""
    listed = accuracy.dropna(subset=["top1"])[["model", "top1", "source"]]
    return summary.merge(listed, on="model", how="inner")


def spread_models(summary: pd.DataFrame, n: int) -> list[str]:
    """Up to ``n`` models spanning the range of per-unit MIS variability (the 5–95 % spread), as in
    Fig. 4B: evenly spaced in the sorted spreads."""
    ordered = summary.assign(spread=summary["p95_mis"] - summary["p05_mis"]).sort_values("spread")
    picks = np.unique(np.linspace(0, len(ordered) - 1, min(n, len(ordered))).round().astype(int))
    return list(ordered["model"].iloc[picks])


KDE_GRID = np.linspace(0, 1, 400)


def densities(units: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """Fig. 4B's curves: per model (in ``models``' order) a Gaussian kernel density estimate of its
    units' MIS on ``KDE_GRID``, with its number of units (none where every unit has the same MIS)."""
    rows = []
    for model in models:
        values = units.loc[units["model"] == model, "mis"].to_numpy()
        if len(values) > 1 and np.ptp(values) > 0:
            density = stats.gaussian_kde(values)(KDE_GRID)
            rows.append(pd.DataFrame({"model": model, "mis": KDE_GRID, "density": density, "n_units": len(values)}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["model", "mis", "density", "n_units"])
