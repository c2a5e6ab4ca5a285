"""Pearson and Spearman correlations with bootstrap intervals, vectorised over the resamples: one
implementation for Fig. 4A's accuracy correlation and the IMI validation (Fig. 2)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import pearsonr, rankdata, spearmanr


def rowwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with the same row of ``b``; NaN for a constant row."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(axis=1) / np.sqrt((a**2).sum(axis=1) * (b**2).sum(axis=1))


def rowwise_spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return rowwise_pearson(rankdata(a, axis=1), rankdata(b, axis=1))


CORRELATIONS = {"pearson": (rowwise_pearson, pearsonr), "spearman": (rowwise_spearman, spearmanr)}


def interval(samples: np.ndarray, level: float, axis: int | None = None) -> np.ndarray:
    """(low, high): the central ``level`` percentile interval of bootstrap samples, leaving out NaN
    ones (resamples in which a variable is constant)."""
    return np.nanpercentile(samples, [50 * (1 - level), 50 * (1 + level)], axis=axis)


def correlations(x: np.ndarray, y: np.ndarray, x_boot: np.ndarray, y_boot: np.ndarray, level: float) -> dict[str, Any]:
    """Pearson and Spearman of x and y with p-values and bootstrap intervals from resampled rows."""
    out: dict[str, Any] = {"n": len(x)}
    for name, (rowwise, scipy_test) in CORRELATIONS.items():
        low, high = map(float, interval(rowwise(x_boot, y_boot), level))
        p_value = float(scipy_test(x, y).pvalue) if len(x) >= 3 else None
        out[name] = {"r": float(rowwise(x[None], y[None])[0]), "ci_low": low, "ci_high": high, "p_value": p_value}
    return out
