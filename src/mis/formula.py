"""The MIS formula, once (method.md §3): from task margins Δ to per-unit scores.

numpy and scipy only (no torch), so that the IMI validation (fit α) and the scoring stage use the
same code, and the IMI env needs no torch. ``margins`` are (units, N); NaN marks a missing task (units with fewer
tasks are NaN-padded) and is left out of the means.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit


def unit_mis(margins: np.ndarray, alpha: float) -> np.ndarray:
    """MIS per unit: the mean over tasks of σ(α·Δ), the probability of choosing the right query."""
    return np.nanmean(expit(alpha * np.asarray(margins, float)), axis=1)


def hard_accuracy(margins: np.ndarray) -> np.ndarray:
    """Hard accuracy per unit: the share of tasks with Δ > 0."""
    margins = np.asarray(margins, float)
    return np.nanmean(np.where(np.isnan(margins), np.nan, margins > 0), axis=1)
