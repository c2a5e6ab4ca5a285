"""Fig. 4: (A) ImageNet top-1 accuracy vs average per-unit MIS; (B) per-unit MIS densities for
models spanning the range of variability."""

from __future__ import annotations

import os

import pandas as pd

from mis.figures.style import CHANCE, plt, save_pdf


def plot(
    table: pd.DataFrame,
    kde: pd.DataFrame,
    correlation: pd.DataFrame,
    path: str | os.PathLike,
    labels: dict[str, str] | None = None,
) -> None:
    """The tables of ``mis.analysis.accuracy``: ``table``, model summary rows with ``top1`` (%;
    NaN where no accuracy is listed) and the ``density`` flag of the models of panel B; ``kde``,
    their density curves; ``correlation``, one row (``mis.analysis.correlation.Correlation.to_table``;
    none below 3 models)."""
    labels = labels or {}
    with_top1 = table.dropna(subset=["top1"])
    corr = correlation.iloc[0] if len(correlation) else None
    fig, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(9, 3.6))
    ax_a.scatter(with_top1["top1"], with_top1["mean_mis"], color="C0", zorder=3)
    for _, row in with_top1.iterrows():
        ax_a.annotate(
            labels.get(row["model"], row["model"]),
            (row["top1"], row["mean_mis"]),
            fontsize=6,
            xytext=(3, 3),
            textcoords="offset points",
        )
    if corr is not None:
        ax_a.set_title(
            f"(A) n = {int(corr['n'])} models; Spearman ρ = {corr['spearman']:.2f} "
            f"[{corr['spearman_ci_low']:.2f}, {corr['spearman_ci_high']:.2f}],\n"
            f"Pearson r = {corr['pearson']:.2f} [{corr['pearson_ci_low']:.2f}, {corr['pearson_ci_high']:.2f}] "
            "(95 % bootstrap CI)",
            fontsize=8,
        )
    else:
        ax_a.set_title(f"(A) n = {len(with_top1)} models (too few for a correlation)", fontsize=8)
    ax_a.margins(x=0.25, y=0.1)
    ax_a.set_xlabel("ImageNet top-1 accuracy (%)")
    ax_a.set_ylabel("average per-unit MIS")
    n_density = int(table["density"].sum())
    for i, (model, rows) in enumerate(kde.groupby("model", sort=False)):
        name = f"{labels.get(model, model)} (n={int(rows['n_units'].iloc[0]):,})"
        ax_b.plot(rows["mis"], rows["density"], color=f"C{i}", linewidth=1.2, label=name)
    ax_b.axvline(CHANCE, color="grey", linestyle=":", linewidth=1)
    ax_b.set_xlabel("per-unit MIS")
    ax_b.set_ylabel("density (kernel estimate)")
    ax_b.set_title(f"(B) per-unit MIS of {n_density} models spanning the variability", fontsize=8)
    ax_b.legend(fontsize=6, frameon=False)
    save_pdf(fig, path)
