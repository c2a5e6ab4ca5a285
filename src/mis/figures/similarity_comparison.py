"""Appendix figure of the IMI validation: the similarity-function comparison (MIS paper p.17), drawn
from the table of ``mis.imi.appendix.similarity_comparison``."""

from __future__ import annotations

import os

import pandas as pd

from mis.figures.style import plt, save_pdf
from mis.imi import CEILING


def plot(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Bars: mean correlation of MIS with resampled HIS per backend (± sd over the resamplings);
    dashed: the noise ceiling (mean, its sd shaded). One panel per level and correlation."""
    panels = (
        table[["level", "correlation"]].drop_duplicates().sort_values(["level", "correlation"], ascending=[False, True])
    )
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6), sharey=True, squeeze=False)
    for ax, (_, panel) in zip(axes[0], panels.iterrows(), strict=True):
        rows = table[(table["level"] == panel["level"]) & (table["correlation"] == panel["correlation"])]
        bars, ceiling = rows[rows["similarity"] != CEILING], rows[rows["similarity"] == CEILING].iloc[0]
        positions = range(len(bars))
        ax.bar(positions, bars["mean"], yerr=bars["sd"], capsize=3, color=[f"C{i}" for i in positions])
        ax.axhline(
            ceiling["mean"], color="black", linestyle="--", linewidth=1, label=f"noise ceiling ({ceiling['mean']:.2f})"
        )
        ax.axhspan(
            ceiling["mean"] - ceiling["sd"], ceiling["mean"] + ceiling["sd"], color="grey", alpha=0.2, linewidth=0
        )
        ax.set_xticks(list(positions), bars["label"], rotation=30, ha="right", fontsize=7)
        n = f"n = {ceiling['n_units']} units" if panel["level"] == "unit" else f"n = {ceiling['n_models']} models"
        ax.set_title(f"{panel['level']} level, {panel['correlation']} ({n})", fontsize=8)
        ax.legend(loc="lower right", fontsize=6, frameon=False)
    axes[0, 0].set_ylabel(
        f"correlation of MIS with HIS\n(mean ± sd over {int(table['n_simulations'].iloc[0])} resamplings)"
    )
    fig.suptitle("Similarity functions: MIS vs human scores (held-out IMI units)", fontsize=10)
    fig.tight_layout()
    save_pdf(fig, path)
