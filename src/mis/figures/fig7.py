"""Fig. 7: MIS over training: per epoch (average with the 5–95 % band of units), and against the
validation top-1 accuracy of the same epochs."""

from __future__ import annotations

import os

import pandas as pd
from matplotlib.ticker import MaxNLocator

from mis.figures.style import CHANCE, plt, save_pdf

MAX_EPOCH_LABELS = 12


def plot(
    table: pd.DataFrame, correlation: pd.DataFrame, path: str | os.PathLike, model_label: str, similarity_label: str
) -> None:
    """The tables of ``mis.analysis.dynamics``: ``table``, one row per epoch; ``correlation``, its
    Spearman ρ of MIS and accuracy. Left: MIS per epoch; right: MIS against top-1 accuracy."""
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
    _plot_against_accuracy(right, table.dropna(subset=["top1"]), correlation.iloc[0])
    fig.suptitle(f"{model_label}: MIS over training\nsimilarity: {similarity_label}", fontsize=10)
    save_pdf(fig, path)


def _plot_against_accuracy(ax: plt.Axes, table: pd.DataFrame, correlation: pd.Series) -> None:
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
    rho, n = correlation["spearman"], int(correlation["n_epochs"])
    ax.set_title(
        f"MIS vs accuracy (bars: 5th–95th percentile)\nSpearman ρ = {rho:.2f} over the {n} epochs after the first",
        fontsize=9,
    )
