"""The SAE appendix figure: sparsity (L0) against reconstruction and model fidelity, coloured by the
mean MIS of the latents, for both SAE kinds; and the MIS distributions of the latents against the
layer's own channels."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from matplotlib.colors import Normalize

from mis.analysis.sae import CHANNELS
from mis.figures.style import CHANCE, plt, save_pdf

MARKERS = {"relu": "o", "gated": "^", "linear": "s"}
KIND_LABELS = {"relu": "standard SAE (ReLU, L1)", "gated": "Gated SAE", "linear": "linear dictionary"}
FIDELITY = [
    ("fvu", "fraction of variance unexplained (FVU)"),
    ("top1_agreement", "top-1 agreement with the original model\n(layer replaced by its reconstruction)"),
]


def plot(
    table: pd.DataFrame,
    unit_mis: pd.DataFrame,
    path: str | os.PathLike,
    model_label: str,
    layer: str,
    similarity_label: str,
) -> None:
    """The tables of ``mis.analysis.sae``: ``table``, one row per dictionary; ``unit_mis``, the MIS
    of every non-constant unit. Left, middle: L0 against FVU and against top-1 agreement, coloured
    by mean MIS of the latents (the colour bar marks the channels' mean); right: MIS distributions."""
    fig, axes = plt.subplots(
        1, 3, figsize=(13, 4.2), constrained_layout=True, gridspec_kw={"width_ratios": [1, 1, 1.4]}
    )
    layer_mis = float(table["layer_mean_mis"].iloc[0])
    values = np.append(table["mean_mis"].dropna().to_numpy(), layer_mis)
    norm = Normalize(values.min() - 1e-3, values.max() + 1e-3)
    fidelity = table.dropna(subset=["fvu"])
    for ax, (column, label) in zip(axes[:2], FIDELITY):
        for kind, rows in fidelity.groupby("kind", sort=False):
            ax.plot(rows["l0"], rows[column], color="grey", linewidth=0.8, zorder=1)
            ax.scatter(
                rows["l0"], rows[column], c=rows["mean_mis"], cmap="viridis", norm=norm, marker=MARKERS.get(kind, "D"),
                s=45, edgecolor="black", linewidth=0.5, zorder=2, label=f"{KIND_LABELS.get(kind, kind)} ({len(rows)})",
            )  # fmt: skip
            for _, row in rows.iterrows():
                text = f"λ={row['sparsity']:g}" if row["source"] == "trained" else row["dictionary"]
                ax.annotate(text, (row["l0"], row[column]), xytext=(4, 3), textcoords="offset points", fontsize=6)
        ax.set_xscale("log")
        ax.set_xlabel("L0: active latents per position (log scale)")
        ax.set_ylabel(label)
        ax.legend(fontsize=7, frameon=False)
    axes[0].set_title("sparsity vs reconstruction", fontsize=9)
    axes[1].set_title("sparsity vs model fidelity", fontsize=9)
    mappable = plt.cm.ScalarMappable(norm=norm, cmap="viridis")
    colorbar = fig.colorbar(mappable, ax=axes[:2], label="mean MIS of the non-constant latents", shrink=0.9)
    colorbar.ax.axhline(layer_mis, color="red", linewidth=2)
    colorbar.ax.text(
        1.6, layer_mis, "channels", color="red", fontsize=7, va="center", transform=colorbar.ax.get_yaxis_transform()
    )
    _plot_distributions(axes[2], table, unit_mis)
    n_channels = int(table["layer_n_units"].iloc[0])
    fig.suptitle(
        f"{model_label}, layer {layer} ({n_channels} non-constant channels): sparse autoencoders\n"
        f"similarity: {similarity_label}",
        fontsize=10,
    )
    save_pdf(fig, path)


def _plot_distributions(ax: plt.Axes, table: pd.DataFrame, unit_mis: pd.DataFrame) -> None:
    """One box per group of units, the channels first, then the dictionaries in table order."""
    groups = [("channels", unit_mis.loc[unit_mis["kind"] == CHANNELS, "mis"])]
    groups += [(name, unit_mis.loc[unit_mis["dictionary"] == name, "mis"]) for name in table["dictionary"]]
    groups = [(name, values.to_numpy()) for name, values in groups if len(values)]
    ax.boxplot(
        [values for _, values in groups],
        orientation="horizontal",
        widths=0.6,
        whis=(5, 95),
        showfliers=False,
        medianprops={"color": "black"},
    )
    rng = np.random.default_rng(0)  # jitter only: the points are the data
    for i, (name, values) in enumerate(groups, start=1):
        color = "red" if name == "channels" else "C0"
        ax.scatter(values, i + rng.uniform(-0.2, 0.2, len(values)), s=3, alpha=0.35, color=color, linewidth=0)
        ax.scatter(values.mean(), i, marker="D", s=25, color=color, edgecolor="black", linewidth=0.5, zorder=3)
    ax.set_yticks(range(1, len(groups) + 1), [f"{name} (n={len(values):,})" for name, values in groups], fontsize=7)
    ax.invert_yaxis()
    ax.axvline(CHANCE, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("per-unit MIS (boxes: quartiles, 5th–95th whiskers; ◆ mean)")
    ax.set_title("MIS of the latents vs the layer's channels (non-constant units)", fontsize=9)
