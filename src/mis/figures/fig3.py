"""Fig. 3: average per-unit MIS per model, models sorted, with the 5th–95th percentile band."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from mis.figures.style import CHANCE, plt, save_pdf

MAX_TICK_LABELS = 40


def plot(table: pd.DataFrame, path: str | os.PathLike, similarity_label: str) -> None:
    """``table`` (``mis.analysis.models``): one row per model, sorted by mean_mis, with its label,
    p05_mis, p95_mis, n_units and whether it is ``highlighted`` (the IMI models in the paper, in red).
    Few models get labelled points with 5–95 % bars; many models (the paper's 835) a line with a
    shaded band."""
    data = table
    x = np.arange(len(data))
    few = len(data) <= MAX_TICK_LABELS
    fig, ax = plt.subplots(figsize=(max(4.5, min(12.0, 0.5 * len(data) + 3)) if few else 10.0, 3.6))
    band = "5th–95th percentile of units"
    if few:
        spread = [data["mean_mis"] - data["p05_mis"], data["p95_mis"] - data["mean_mis"]]
        ax.errorbar(
            x, data["mean_mis"], yerr=spread, fmt="o", color="C0", capsize=4, label=f"average per-unit MIS ({band})"
        )
        ticks = [f"{label}\n(n={n:,})" for label, n in zip(data["label"], data["n_units"])]
        ax.set_xticks(x, ticks, rotation=30, ha="right", fontsize=7)
        ax.set_xlim(-0.5, len(data) - 0.5)
    else:
        ax.fill_between(x, data["p05_mis"], data["p95_mis"], alpha=0.3, color="C0", linewidth=0, label=band)
        ax.plot(x, data["mean_mis"], color="C0", linewidth=1.2, label="average per-unit MIS")
    marked = data["highlighted"].to_numpy(dtype=bool)
    if marked.any():
        ax.scatter(
            x[marked],
            data.loc[marked, "mean_mis"],
            color="C3",
            s=25,
            zorder=4,
            label=f"highlighted ({int(marked.sum())}, e.g. IMI models)",
        )
    ax.axhline(CHANCE, color="grey", linestyle=":", linewidth=1, label="chance (0.5)")
    ax.set_xlabel(f"model, sorted by average MIS ({len(data)} models; n = non-constant units)")
    ax.set_ylabel("machine interpretability score")
    ax.set_ylim(min(0.4, float(data["p05_mis"].min()) - 0.02), 1.0)
    ax.set_title(f"Average per-unit MIS per model\nsimilarity: {similarity_label}")
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    save_pdf(fig, path)
