"""Fig. 4: (A) ImageNet top-1 accuracy vs average per-unit MIS; (B) per-unit MIS densities for
models spanning the range of variability."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from scipy import stats

from mis.analysis import Correlation, correlation, spread_models, with_accuracy
from mis.results import read_units
from mis.figures.style import CHANCE, plt, save_pdf
from mis.storage import read_table, write_table


def plot_accuracy_and_densities(
    with_top1: pd.DataFrame,
    corr: Correlation | None,
    densities: dict[str, np.ndarray],
    path: str | os.PathLike,
    labels: dict[str, str] | None = None,
) -> None:
    """``with_top1``: model summary rows with ``top1`` (%); ``densities``: per-unit MIS of the
    models of panel B."""
    labels = labels or {}
    fig, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(9, 3.6))
    ax_a.scatter(with_top1["top1"], with_top1["mean_mis"], color="C0", zorder=3)
    for _, row in with_top1.iterrows():
        ax_a.annotate(labels.get(row["model"], row["model"]), (row["top1"], row["mean_mis"]), fontsize=6, xytext=(3, 3), textcoords="offset points")
    if corr is not None:
        ax_a.set_title(
            f"(A) n = {corr.n} models; Spearman ρ = {corr.spearman:.2f} [{corr.spearman_ci[0]:.2f}, {corr.spearman_ci[1]:.2f}],\n"
            f"Pearson r = {corr.pearson:.2f} [{corr.pearson_ci[0]:.2f}, {corr.pearson_ci[1]:.2f}] (95 % bootstrap CI)",
            fontsize=8,
        )
    else:
        ax_a.set_title(f"(A) n = {len(with_top1)} models (too few for a correlation)", fontsize=8)
    ax_a.margins(x=0.25, y=0.1)
    ax_a.set_xlabel("ImageNet top-1 accuracy (%)")
    ax_a.set_ylabel("average per-unit MIS")
    grid = np.linspace(0, 1, 400)
    for i, (model, values) in enumerate(densities.items()):
        name = f"{labels.get(model, model)} (n={len(values):,})"
        if np.ptp(values) > 0:
            ax_b.plot(grid, stats.gaussian_kde(values)(grid), color=f"C{i}", linewidth=1.2, label=name)
    ax_b.axvline(CHANCE, color="grey", linestyle=":", linewidth=1)
    ax_b.set_xlabel("per-unit MIS")
    ax_b.set_ylabel("density (kernel estimate)")
    ax_b.set_title(f"(B) per-unit MIS of {len(densities)} models spanning the variability", fontsize=8)
    ax_b.legend(fontsize=6, frameon=False)
    save_pdf(fig, path)


def make_fig4(summary_path: str, models: list[str], units_paths: list[str], accuracy_path: str, n_density_models: int,
              seed: int, table_path: str, figure_path: str, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Join accuracies, correlate (when ≥ 3 models have one), pick the density models; write the
    table behind panel A (with a ``density`` flag for panel B) and the figure. Only the picked
    models' unit tables are read (``units_paths`` are the ``models``' in order)."""
    summary = read_table(summary_path)
    table = with_accuracy(summary, pd.read_csv(accuracy_path))
    corr = correlation(table["top1"], table["mean_mis"], seed=seed) if len(table) >= 3 else None
    picked = spread_models(summary, n_density_models)
    units = read_units([path for model, path in zip(models, units_paths, strict=True) if model in picked])
    densities = {m: units.loc[(units["model"] == m) & ~units["constant"], "mis"].to_numpy() for m in picked}
    out = summary.merge(table[["model", "top1", "source"]], on="model", how="left").assign(density=lambda t: t["model"].isin(picked))
    write_table(out, table_path)
    plot_accuracy_and_densities(table, corr, densities, figure_path, labels)
    return out
