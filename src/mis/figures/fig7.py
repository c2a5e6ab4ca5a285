"""Fig. 7: MIS over training: per epoch (average with the 5–95 % band of units), and against the
validation top-1 accuracy of the same epochs."""

from __future__ import annotations

import os
from collections.abc import Mapping

import pandas as pd
from scipy.stats import spearmanr
from matplotlib.ticker import MaxNLocator

from mis.figures.style import CHANCE, plt, save_pdf
from mis.results import model_summary
from mis.storage import read_table

MAX_EPOCH_LABELS = 12


def read_accuracy_table(path: str | os.PathLike) -> pd.DataFrame:
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


def plot_training_dynamics(
    table: pd.DataFrame, path: str | os.PathLike, model_label: str, similarity_label: str
) -> None:
    """``table``: the epoch table. Left: MIS per epoch; right: MIS against top-1 accuracy."""
    units = f"n = {table['n_units'].min():,}–{table['n_units'].max():,} non-constant units per epoch"
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.5, 3.6), constrained_layout=True)
    band = {"color": "C0", "alpha": 0.25, "linewidth": 0, "label": "5th–95th percentile of units"}
    left.fill_between(table["epoch"], table["p05_mis"], table["p95_mis"], **band)
    left.plot(table["epoch"], table["mean_mis"], "o-", color="C0", markersize=4, label="average per-unit MIS")
    left.axhline(CHANCE, color="grey", linestyle=":", linewidth=1, label="chance (0.5)")
    left.set_xlabel(f"training epoch (0 = initialisation)\n{units}")
    left.set_ylabel("machine interpretability score")
    left.set_title("MIS per epoch")
    left.legend(fontsize=7, frameon=False)
    _plot_against_accuracy(right, table.dropna(subset=["top1"]))
    fig.suptitle(f"{model_label}: MIS over training\nsimilarity: {similarity_label}", fontsize=10)
    save_pdf(fig, path)


def _plot_against_accuracy(ax: plt.Axes, table: pd.DataFrame) -> None:
    """Epochs in training order, coloured by epoch; every epoch labelled when there are few."""
    spread = [table["mean_mis"] - table["p05_mis"], table["p95_mis"] - table["mean_mis"]]
    ax.errorbar(table["top1"], table["mean_mis"], yerr=spread, color="grey", alpha=0.4, linewidth=0.8, capsize=2)
    points = ax.scatter(table["top1"], table["mean_mis"], c=table["epoch"], cmap="viridis", s=25, zorder=2)
    labelled = table if len(table) <= MAX_EPOCH_LABELS else table.iloc[[0, 1, -1]]
    for epoch, x, y in zip(labelled["epoch"], labelled["top1"], labelled["mean_mis"]):
        ax.annotate(str(epoch), (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7)
    ax.figure.colorbar(points, ax=ax, label="training epoch", ticks=MaxNLocator(integer=True))
    ax.set_xlabel(f"validation top-1 accuracy (%)\n{len(table)} epochs with a known accuracy")
    ax.set_ylabel("average per-unit MIS")
    rho, n = accuracy_correlation(table)
    ax.set_title(f"MIS vs accuracy (bars: 5th–95th percentile)\nSpearman ρ = {rho:.2f} over the {n} epochs after the first", fontsize=9)
