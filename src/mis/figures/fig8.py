"""Fig. 8: how each layer's MIS changes during training: in the first epoch against relative depth,
coloured by layer type, and (appendix) from every epoch to the next as a layer × epoch heatmap."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from mis.figures.style import LAYER_COLORS, plt, save_pdf

MAX_LAYER_LABELS = 80
MAX_EPOCH_LABELS = 40


def plot_first_epoch(
    table: pd.DataFrame, depth: pd.DataFrame, path: str | os.PathLike, model_label: str, similarity_label: str
) -> None:
    """The tables of ``mis.analysis.dynamics``: ``table``, one row per layer and epoch; ``depth``,
    the first epoch's correlation with depth (one row). Fig. 8: change of each layer's mean MIS
    from the first to the second listed epoch, against depth."""
    depth = depth.iloc[0]
    first, second = int(depth["first_epoch"]), int(depth["second_epoch"])
    rows = table[table["epoch"] == second].dropna(subset=["delta_previous"])
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for layer_type, group in rows.groupby("layer_type", sort=False):
        color, label = LAYER_COLORS.get(layer_type, "grey"), f"{layer_type} ({len(group)} layers)"
        ax.scatter(group["relative_depth"], group["delta_previous"], s=18, color=color, label=label)
    ax.axhline(0, color="grey", linestyle=":", linewidth=1)
    r = depth["pearson"]
    ax.set_xlabel("relative depth of the layer (0 = first, 1 = last layer of interest)")
    ax.set_ylabel(f"change of mean per-unit MIS,\nepoch {first} → {second}")
    correlation = f"Pearson r with depth = {r:.2f} (n = {int(depth['n_layers'])} layers)"
    title = f"{model_label}: change of MIS per layer in epoch {second}\n{correlation}; similarity: {similarity_label}"
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    save_pdf(fig, path)


def plot_all_epochs(table: pd.DataFrame, path: str | os.PathLike, model_label: str, similarity_label: str) -> None:
    """Heatmap, layers (by depth) × epochs, of the change of each layer's mean MIS since the
    previous listed epoch; layer names coloured by type."""
    order = table.drop_duplicates("layer").sort_values("relative_depth")
    changes = table.dropna(subset=["delta_previous"]).pivot(index="layer", columns="epoch", values="delta_previous")
    changes = changes.reindex(order["layer"]).sort_index(axis=1)
    epochs = sorted(table["epoch"].unique())
    steps = [f"{epochs[epochs.index(e) - 1]}→{e}" for e in changes.columns]
    limit = float(np.nanmax(np.abs(changes.to_numpy()))) or 1.0
    width, height = min(14.0, max(4.5, 0.45 * len(steps) + 3)), min(14.0, max(3.5, 0.14 * len(changes) + 1.5))
    fig, ax = plt.subplots(figsize=(width, height))
    image = ax.imshow(changes.to_numpy(), aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit)
    shown = range(0, len(steps), math.ceil(len(steps) / MAX_EPOCH_LABELS))
    ax.set_xticks(shown, [steps[i] for i in shown], rotation=90 if len(shown) > 12 else 0, fontsize=7)
    ax.set_xlabel("epochs (from → to)")
    fig.colorbar(image, ax=ax, label="change of mean per-unit MIS\nsince the previous epoch")
    _label_layers(ax, order)
    title = f"{model_label}: change of MIS per layer and epoch\n({len(order)} layers; similarity: {similarity_label})"
    ax.set_title(title, fontsize=9)
    save_pdf(fig, path)


def _label_layers(ax: plt.Axes, order: pd.DataFrame) -> None:
    """Layer names coloured by type, with a legend of the colours; relative depths instead when
    there are too many layers to name."""
    if len(order) > MAX_LAYER_LABELS:
        ticks = np.linspace(0, len(order) - 1, 6).round().astype(int)
        ax.set_yticks(ticks, [f"{order['relative_depth'].iloc[i]:.2f}" for i in ticks])
        ax.set_ylabel("layer, by relative depth")
        return
    ax.set_yticks(range(len(order)), order["layer"], fontsize=6 if len(order) > 30 else 7)
    for label, layer_type in zip(ax.get_yticklabels(), order["layer_type"]):
        label.set_color(LAYER_COLORS.get(layer_type, "grey"))
    ax.set_ylabel("layer (top = first)")
    handles = [Patch(color=LAYER_COLORS.get(t, "grey"), label=t) for t in dict.fromkeys(order["layer_type"])]
    ax.legend(
        handles=handles,
        title="layer name colour",
        fontsize=7,
        title_fontsize=7,
        frameon=False,
        loc="upper left",
        bbox_to_anchor=(1.3, 1),
    )
