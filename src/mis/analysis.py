"""Tables behind the analysis figures (Figs. 4–6 and the appendix), from cached unit tables only:
plotting never recomputes activations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scikit_posthocs

from mis.bootstrap import correlations
from mis.results import LAYER_TYPE_ORDER



@dataclass
class Correlation:
    """Pearson and Spearman correlations with seeded percentile-bootstrap 95 % intervals."""

    n: int
    pearson: float
    pearson_ci: tuple[float, float]
    spearman: float
    spearman_ci: tuple[float, float]


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


def layer_means(units: pd.DataFrame) -> pd.DataFrame:
    """Mean MIS per (model, layer) over non-constant units, with the layer's type, relative depth and
    width: the points of Fig. 6."""
    live = units[~units["constant"]]
    keys = ["model", "layer", "layer_type", "relative_depth", "relative_width"]
    return live.groupby(keys, sort=False).agg(mis=("mis", "mean"), n_units=("mis", "size")).reset_index()


def layer_type_means(units: pd.DataFrame) -> pd.DataFrame:
    """Mean MIS per (model, layer type) over non-constant units: the observations of Fig. 5."""
    live = units[~units["constant"]]
    table = live.groupby(["model", "layer_type"]).agg(mis=("mis", "mean"), n_units=("mis", "size")).reset_index()
    order = [t for t in LAYER_TYPE_ORDER if t in set(table["layer_type"])]
    return table.assign(layer_type=pd.Categorical(table["layer_type"], order, ordered=True)).sort_values(["layer_type", "model"])


def conover_holm(means: pd.DataFrame) -> pd.DataFrame:
    """Pairwise Conover tests between layer types on the per-model means, Holm-corrected
    (a square table of p-values; the diagonal is 1)."""
    types = [t for t in means["layer_type"].cat.categories if (means["layer_type"] == t).any()]
    if len(types) < 2:
        raise ValueError("the Conover test needs at least two layer types with scores")
    data = means.assign(layer_type=means["layer_type"].astype(str))
    pvalues = scikit_posthocs.posthoc_conover(data, val_col="mis", group_col="layer_type", p_adjust="holm")
    return pvalues.loc[types, types]

