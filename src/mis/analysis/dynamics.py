"""Figs. 7 and 8: MIS over training, per epoch and per layer, from the unit tables of every listed
epoch's checkpoint (models named ``<run>-epoch<e>``)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from mis.analysis.depth_width import layer_means
from mis.results import model_summary
from mis.storage import read_table

PathLike = str | os.PathLike


def read_accuracy_table(path: PathLike) -> pd.DataFrame:
    """The accuracy per epoch (columns ``epoch``, ``top1`` in %), checked, since it may come from the
    user's training logs."""
    table = read_table(path)
    missing = {"epoch", "top1"} - set(table.columns)
    if missing:
        raise ValueError(f"accuracy table {path} lacks columns {sorted(missing)} (needs epoch, top1 in %)")
    if table["epoch"].duplicated().any():
        raise ValueError(f"accuracy table {path} lists an epoch twice")
    if not table["top1"].dropna().between(0, 100).all():
        raise ValueError(f"accuracy table {path}: top1 must be a percentage between 0 and 100")
    return table[["epoch", "top1"]]


def epoch_of(models: pd.Series, epochs: Mapping[str, int]) -> pd.Series:
    """The training epoch of each model name (``<run>-epoch<e>``, as ``epochs`` maps them)."""
    unknown = set(models) - set(epochs)
    if unknown:
        raise ValueError(f"unit tables of models without an epoch: {sorted(unknown)}")
    return models.map(epochs)


def epoch_table(units: pd.DataFrame, epochs: Mapping[str, int], accuracy: pd.DataFrame) -> pd.DataFrame:
    """One row per epoch: the per-model MIS statistics of Fig. 3 (over non-constant units) of that
    epoch's checkpoint, and its top-1 accuracy (NaN where the table has none)."""
    summary = model_summary(units)
    summary.insert(0, "epoch", epoch_of(summary["model"], epochs))
    table = summary.merge(accuracy, on="epoch", how="left", validate="one_to_one")
    return table.sort_values("epoch", ignore_index=True)


def accuracy_correlation(table: pd.DataFrame) -> tuple[float, int]:
    """Spearman rank correlation of average MIS and top-1 accuracy over the epochs after the first
    listed one (the paper: anticorrelated once the first epoch's jump is over), and the number of
    epochs it uses; NaN below 3 epochs."""
    later = table.dropna(subset=["top1"])
    later = later[later["epoch"] > table["epoch"].min()]
    rho = spearmanr(later["top1"], later["mean_mis"])[0] if len(later) >= 3 else float("nan")
    return float(rho), len(later)


def layer_changes(units: pd.DataFrame, epochs: Mapping[str, int]) -> pd.DataFrame:
    """One row per layer and epoch: mean MIS over the layer's non-constant units (Fig. 6's layer
    means; NaN if none), their number, and the change since the previous listed epoch
    (``delta_previous``) and since the first (``delta_initial``). Rows in epoch order, then depth
    order."""
    units = units.assign(epoch=epoch_of(units["model"], epochs))
    layers = units.drop_duplicates(["layer", "epoch"])[["layer", "epoch", "layer_type", "relative_depth"]]
    means = layer_means(units).assign(epoch=lambda t: t["model"].map(epochs))
    table = (
        layers.merge(means[["layer", "epoch", "mis", "n_units"]], on=["layer", "epoch"], how="left")
        .rename(columns={"mis": "mean_mis"})
        .fillna({"n_units": 0})
        .astype({"n_units": int})
        .sort_values(["layer", "epoch"], ignore_index=True)
    )
    if (table.groupby("layer")["epoch"].nunique() != table["epoch"].nunique()).any():
        raise ValueError("the epochs' checkpoints do not have the same layers")
    initial = table[table["epoch"] == table["epoch"].min()].set_index("layer")["mean_mis"]
    table["delta_previous"] = table.groupby("layer")["mean_mis"].diff()
    table["delta_initial"] = table["mean_mis"] - table["layer"].map(initial)
    return table.sort_values(["epoch", "relative_depth"], ignore_index=True)


def first_epoch_depth_correlation(layers: pd.DataFrame) -> tuple[int, int, float, int]:
    """Fig. 8: the first two listed epochs, and the Pearson correlation of each layer's change of
    mean MIS between them with its relative depth (NaN below 3 layers), with the number of layers."""
    first, second = sorted(layers["epoch"].unique())[:2]
    rows = layers[layers["epoch"] == second].dropna(subset=["delta_previous"])
    r = np.corrcoef(rows["relative_depth"], rows["delta_previous"])[0, 1] if len(rows) > 2 else float("nan")
    return int(first), int(second), float(r), len(rows)
