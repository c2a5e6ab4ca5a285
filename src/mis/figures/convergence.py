"""Appendix figure: how MIS converges with the number of tasks N, in both sampling scenarios."""

from __future__ import annotations

import os

import pandas as pd

from mis.figures.style import plt, save_pdf

SCENARIOS = {
    "nested": "first n of the N tasks (earlier tasks unchanged)",
    "resampled": "tasks resampled for n (all tasks change)",
}


def plot(table: pd.DataFrame, path: str | os.PathLike, labels: dict[str, str] | None = None) -> None:
    """``table``: rows (model, scenario, n_tasks, mean_abs_diff, sem, n_units)."""
    labels = labels or {}
    n_max = int(table["n_tasks"].max())
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), sharey=True)
    for ax, (scenario, title) in zip(axes, SCENARIOS.items()):
        for i, (model, rows) in enumerate(table[table["scenario"] == scenario].groupby("model", sort=True)):
            rows = rows.sort_values("n_tasks")
            name = f"{labels.get(model, model)} (n={int(rows['n_units'].iloc[0]):,} units)"
            ax.errorbar(
                rows["n_tasks"],
                rows["mean_abs_diff"],
                yerr=rows["sem"],
                marker="o",
                markersize=3,
                capsize=2,
                color=f"C{i}",
                label=name,
            )
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("number of tasks n")
        ax.set_xticks(range(1, n_max + 1, max(1, n_max // 10)))
    axes[0].set_ylabel(f"mean |MIS(n) − MIS(N={n_max})|")
    axes[1].legend(fontsize=7, frameon=False)
    fig.suptitle("Convergence of the per-unit MIS with the number of tasks (mean ± s.e.m. over units)", fontsize=10)
    save_pdf(fig, path)
