"""Correlations with bootstrap intervals, as the figures report them."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from mis.bootstrap import correlations


@dataclass
class Correlation:
    """Pearson and Spearman correlations with seeded percentile-bootstrap 95 % intervals."""

    n: int
    pearson: float
    pearson_ci: tuple[float, float]
    spearman: float
    spearman_ci: tuple[float, float]

    def to_table(self) -> pd.DataFrame:
        """One row, the intervals as ``<name>_ci_low``/``<name>_ci_high`` columns."""
        row = asdict(self)
        for name in ("pearson", "spearman"):
            row[f"{name}_ci_low"], row[f"{name}_ci_high"] = row.pop(f"{name}_ci")
        return pd.DataFrame([row])

    @staticmethod
    def empty_table() -> pd.DataFrame:
        """The table of no correlation (too few points), with the columns of ``to_table``."""
        return Correlation(0, np.nan, (np.nan, np.nan), np.nan, (np.nan, np.nan)).to_table().iloc[:0]


def correlation(x: np.ndarray, y: np.ndarray, n_bootstrap: int = 1000, seed: int = 0) -> Correlation:
    """Resampling (x, y) pairs; resamples in which either variable is constant are left out."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3:
        raise ValueError(f"a correlation needs at least 3 points, got {len(x)}")
    boot = np.random.default_rng(seed).integers(0, len(x), (n_bootstrap, len(x)))
    result = correlations(x, y, x[boot], y[boot], level=0.95)
    pearson, spearman = result["pearson"], result["spearman"]
    return Correlation(
        n=len(x),
        pearson=pearson["r"],
        pearson_ci=(pearson["ci_low"], pearson["ci_high"]),
        spearman=spearman["r"],
        spearman_ci=(spearman["ci_low"], spearman["ci_high"]),
    )
