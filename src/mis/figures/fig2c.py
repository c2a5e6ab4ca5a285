"""Fig. 2C: human interpretability score of the easiest, random and hardest units per model (mean
and bootstrap interval, each unit a dot, Holm-corrected p-values of the Mann–Whitney U tests), and
MIS against HIS for these units beside the IMI units'. Draws the tables of
``mis.analysis.fig2c`` only."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from mis.experiment import ALL, group_order
from mis.figures.style import CHANCE, plt, save_pdf

GROUP_COLOURS = {"easiest": "C2", "random": "C7", "hardest": "C3"}


def _p_text(p: float) -> str:
    return f"p = {p:.2g}" if p >= 0.001 else "p < 0.001"


def _group_panel(ax: plt.Axes, model: str, groups: pd.DataFrame, units: pd.DataFrame, tests: pd.DataFrame) -> None:
    """Mean HIS per group with its interval, the units as dots, the tests as brackets."""
    order = group_order(groups["group"])
    rng = np.random.default_rng(0)
    for x, group in enumerate(order):
        row = groups[groups["group"] == group].iloc[0]
        colour = GROUP_COLOURS.get(group, "C0")
        his = units.loc[units["group"] == group, "his"].to_numpy()
        ax.scatter(x + rng.uniform(-0.15, 0.15, len(his)), his, s=9, color=colour, alpha=0.45, linewidths=0)
        ax.errorbar(
            x,
            row["mean_his"],
            yerr=[[row["mean_his"] - row["ci_low"]], [row["ci_high"] - row["mean_his"]]],
            fmt="o",
            color="black",
            markerfacecolor=colour,
            markersize=7,
            capsize=4,
        )
    ax.axhline(CHANCE, color="grey", linestyle=":", linewidth=0.8)
    ax.set_xticks(
        range(len(order)), [f"{g}\n(n = {int(groups.loc[groups['group'] == g, 'n_units'].iloc[0])})" for g in order]
    )
    ax.set_xlim(-0.6, len(order) - 0.4)
    top = 1.02
    for _, test in tests[tests["comparison"].str.contains(" vs ") & (tests["comparison"] != "MIS vs HIS")].iterrows():
        a, b = test["comparison"].split(" vs ")
        if a in order and b in order:
            xa, xb = order.index(a), order.index(b)
            ax.plot([xa, xa, xb, xb], [top, top + 0.02, top + 0.02, top], color="black", linewidth=0.7)
            ax.text((xa + xb) / 2, top + 0.025, _p_text(test["p_holm"]), ha="center", va="bottom", fontsize=7)
            top += 0.09
    ax.set_ylim(-0.03, max(1.05, top + 0.03))
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_title(model)


def plot(
    groups: pd.DataFrame,
    tests: pd.DataFrame,
    units: pd.DataFrame,
    path: str | os.PathLike,
    labels: dict[str, str] | None = None,
) -> None:
    """One panel per model (and pooled, if several), then MIS vs HIS."""
    labels = {ALL: "all models", **(labels or {})}
    models = [m for m in groups["model"].unique() if m != ALL] + ([ALL] if ALL in set(groups["model"]) else [])
    fig, axes = plt.subplots(
        1,
        len(models) + 1,
        figsize=(2.6 * len(models) + 3.4, 3.4),
        gridspec_kw={"width_ratios": [1] * len(models) + [1.3]},
    )
    study = units[units["source"] == "study"]
    for ax, model in zip(axes, models, strict=False):
        in_model = study if model == ALL else study[study["model"] == model]
        _group_panel(
            ax, labels.get(model, model), groups[groups["model"] == model], in_model, tests[tests["model"] == model]
        )
        ax.set_xlabel("units chosen by MIS")
    axes[0].set_ylabel("HIS (share of correct responses)")
    scatter = axes[-1]
    imi = units[units["source"] == "imi"]
    if len(imi):
        scatter.scatter(imi["mis"], imi["his"], s=6, color="0.75", linewidths=0, label=f"IMI units (n = {len(imi)})")
    for group in group_order(study["group"]):
        part = study[study["group"] == group]
        scatter.scatter(
            part["mis"], part["his"], s=14, color=GROUP_COLOURS.get(group, "C0"), label=f"{group} (n = {len(part)})"
        )
    scatter.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=0.8)
    scatter.axhline(CHANCE, color="grey", linestyle=":", linewidth=0.8)
    scatter.set_xlim(max(0, min(0.4, float(units["mis"].min())) - 0.05), 1.02)
    scatter.set_ylim(-0.03, 1.05)
    pooled = tests[(tests["comparison"] == "MIS vs HIS") & (tests["model"] == (ALL if ALL in models else models[0]))]
    title = "MIS vs HIS" + (f": Spearman ρ = {pooled['statistic'].iloc[0]:.2f}" if len(pooled) else "")
    scatter.set_title(title)
    scatter.set_xlabel("MIS (machine interpretability score)")
    scatter.set_ylabel("HIS (share of correct responses)")
    scatter.legend(fontsize=7, loc="lower right", frameon=False)
    n_trials = int(study["n_trials"].sum())
    fig.suptitle(f"Fig. 2C: human study of the units chosen by MIS ({len(study)} units, {n_trials} responses)")
    fig.tight_layout()
    save_pdf(fig, path)
