"""Fig. 6: MIS vs a layer's relative depth and relative width, per layer type."""

from __future__ import annotations

import os

import pandas as pd

from mis.analysis.depth_width import N_BINS
from mis.figures.style import LAYER_COLORS, plt, save_pdf


def plot(layers: pd.DataFrame, bins: pd.DataFrame, path: str | os.PathLike) -> None:
    """The tables of ``mis.analysis.depth_width``: ``layers``, mean MIS per (model, layer) with
    layer_type, relative_depth and relative_width (the points); ``bins``, per layer type and axis
    the mean over the layers in equal bins (the lines)."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for ax, column, label in zip(axes, ("relative_depth", "relative_width"), ("relative depth", "relative width")):
        for layer_type, rows in layers.groupby("layer_type", sort=True):
            color = LAYER_COLORS.get(layer_type, "grey")
            ax.scatter(rows[column], rows["mis"], s=6, alpha=0.35, color=color)
            line = bins[(bins["axis"] == column) & (bins["layer_type"] == layer_type)]
            ax.plot(
                line["bin_centre"],
                line["mis"],
                color=color,
                linewidth=1.5,
                marker="o",
                markersize=3,
                label=f"{layer_type} (n={len(rows)} layers)",
            )
        ax.set_xlabel(f"{label} of the layer (0–1)")
        ax.set_xlim(-0.02, 1.02)
    axes[0].set_ylabel("mean per-unit MIS of the layer")
    axes[0].set_title("(A) MIS vs relative depth", fontsize=9)
    axes[1].set_title("(B) MIS vs relative width", fontsize=9)
    axes[1].legend(fontsize=7, frameon=False)
    fig.suptitle(f"{layers['model'].nunique()} models; lines: mean over layers in {N_BINS} bins", fontsize=9)
    save_pdf(fig, path)
