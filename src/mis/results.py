"""Tidy per-unit and per-model result tables."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mis.storage import read_table

UNIT_COLUMNS = [
    "model",
    "layer",
    "layer_type",
    "unit",
    "mis",
    "hard_accuracy",
    "constant",
    "non_finite",
    "relative_depth",
    "relative_width",
    "top_ties",
    "bottom_ties",
]


def layer_scale(highest: np.ndarray, lowest: np.ndarray, channels: Sequence[int]) -> np.ndarray:
    """Per unit, the largest |activation| of any unit of its layer (units in layer order,
    ``channels`` per layer)."""
    magnitude = np.nan_to_num(np.maximum(np.abs(highest), np.abs(lowest)), nan=0.0, posinf=0.0)
    starts = np.cumsum([0, *channels[:-1]])
    return np.repeat(np.maximum.reduceat(magnitude, starts) if len(magnitude) else magnitude, channels)


def constant_units(value_range: np.ndarray, scale: np.ndarray, threshold: float) -> np.ndarray:
    """Units whose range over the images (max − min) is at most ``threshold`` of their layer's
    scale (``layer_scale``): relative, so that a layer whose activations are all tiny (1e-11 in a
    random-init MobileNetV4 hybrid) keeps its units, and a unit that is exactly constant (a dead
    ReLU, a zero filter) is constant at any scale, a layer of zeros included."""
    return value_range <= threshold * scale


def unit_table(
    model: str,
    layers: pd.DataFrame,
    extent: tuple[np.ndarray, np.ndarray],
    mis: np.ndarray,
    hard_accuracy: np.ndarray,
    constant_threshold: float,
    ties: tuple[np.ndarray, np.ndarray],
    non_finite: np.ndarray,
) -> pd.DataFrame:
    """One row per unit. ``layers`` is the layer metadata table; unit arrays follow its unit order.
    ``extent``: each unit's highest and lowest activation over the images (``constant_units``).
    ``ties``: per side (most, least activating), how many of a unit's task images were chosen by the
    index tie-break among images of equal activation (``RunningTopK.tied_at_cut``). ``non_finite``:
    units that were NaN or ±inf on some image; they get no score (MIS and hard accuracy NaN) and,
    like constant units, stay out of the model statistics (``live``)."""
    repeat = layers["channels"].to_numpy()
    if repeat.sum() != len(mis):
        raise ValueError(f"layer table has {repeat.sum()} units, scores have {len(mis)}")
    highest, lowest = extent
    non_finite = np.asarray(non_finite, dtype=bool)
    with np.errstate(invalid="ignore"):  # inf − inf of a non-finite unit
        value_range = highest - lowest
    constant = ~non_finite & constant_units(value_range, layer_scale(highest, lowest, repeat), constant_threshold)
    mis, hard_accuracy = (np.where(non_finite, np.nan, values) for values in (mis, hard_accuracy))
    table = pd.DataFrame(
        {
            "model": model,
            "layer": np.repeat(layers["layer"].to_numpy(), repeat),
            "layer_type": np.repeat(layers["layer_type"].to_numpy(), repeat),
            "unit": np.concatenate([np.arange(c) for c in repeat]),
            "mis": mis,
            "hard_accuracy": hard_accuracy,
            "constant": constant,
            "non_finite": non_finite,
            "relative_depth": np.repeat(layers["relative_depth"].to_numpy(), repeat),
            "relative_width": np.repeat(layers["relative_width"].to_numpy(), repeat),
            "top_ties": ties[0],
            "bottom_ties": ties[1],
        }
    )
    return table[UNIT_COLUMNS]


def live(units: pd.DataFrame) -> pd.Series:
    """The units of the model statistics: neither constant nor NaN or infinite on some image."""
    return ~(units["constant"] | units["non_finite"])


def model_summary(units: pd.DataFrame) -> pd.DataFrame:
    """Per model: MIS statistics over the live units (``live``: mean, median, 5th and 95th
    percentile), mean hard accuracy, the constant-unit ratio, the units with non-finite
    activations, and how many live units have task images chosen among ties (they stay in the
    statistics). Sorted by mean MIS."""
    rows = []
    for model, group in units.groupby("model", sort=True):
        scored = group[live(group)]
        rows.append(
            {
                "model": model,
                "mean_mis": scored["mis"].mean(),
                "median_mis": scored["mis"].median(),
                "p05_mis": scored["mis"].quantile(0.05),
                "p95_mis": scored["mis"].quantile(0.95),
                "mean_hard_accuracy": scored["hard_accuracy"].mean(),
                "n_units": len(scored),
                "n_constant": int(group["constant"].sum()),
                "constant_ratio": group["constant"].mean(),
                "n_tied": int(((scored["top_ties"] > 0) | (scored["bottom_ties"] > 0)).sum()),
                "n_non_finite": int(group["non_finite"].sum()),
            }
        )
    return pd.DataFrame(rows).sort_values("mean_mis", ignore_index=True)


def read_units(paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """All models' unit tables as one."""
    return pd.concat([read_table(p) for p in paths], ignore_index=True)
