"""Fig. 4: ImageNet top-1 accuracy against average per-unit MIS, and the per-unit MIS of models
spanning the range of variability."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mis.analysis.correlation import Correlation, correlation
from mis.results import live, read_units
from mis.storage import read_table, write_table

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


def analyze_accuracy(
    summary_path: PathLike,
    models: Sequence[str],
    units_paths: Sequence[PathLike],
    accuracy_path: PathLike,
    n_density_models: int,
    seed: int,
    table_path: PathLike,
    densities_path: PathLike,
    correlation_path: PathLike,
) -> pd.DataFrame:
    """The three tables of Fig. 4: per model its summary, top-1 accuracy and source (where listed)
    and a ``density`` flag for panel B; the per-unit MIS of the flagged models' non-constant units;
    the accuracy–MIS correlation (no row below 3 models with an accuracy). Only the flagged models'
    unit tables are read (``units_paths`` are the ``models``' in order)."""
    summary = read_table(summary_path)
    listed = with_accuracy(summary, pd.read_csv(accuracy_path))
    corr = correlation(listed["top1"], listed["mean_mis"], seed=seed) if len(listed) >= 3 else None
    picked = spread_models(summary, n_density_models)
    units = read_units([path for model, path in zip(models, units_paths, strict=True) if model in picked])
    scored = units[live(units)]
    densities = pd.concat([scored.loc[scored["model"] == m, ["model", "mis"]] for m in picked], ignore_index=True)
    table = summary.merge(listed[["model", "top1", "source"]], on="model", how="left")
    table = table.assign(density=table["model"].isin(picked))
    write_table(table, table_path)
    write_table(densities, densities_path)
    write_table(corr.to_table() if corr else Correlation.empty_table(), correlation_path)
    return table
