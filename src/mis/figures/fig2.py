"""Fig. 2: MIS against the IMI human scores. (A) model level: mean MIS vs mean HIS per model, and
the two model rankings side by side; (B) unit level: MIS vs HIS per unit. Correlations are those of
the held-out units (α was fitted on the others, drawn in grey in B)."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from mis.figures.style import CHANCE, plt, save_pdf
from mis.imi import IMI_LABELS

CORRELATION_NAMES = {"pearson": "Pearson r", "spearman": "Spearman ρ"}


def _correlation_text(stats: dict[str, Any], ceiling: dict[str, Any], what: str) -> str:
    lines = [f"held-out {what}: n = {stats['n']}"]
    for key, name in CORRELATION_NAMES.items():
        s = stats[key]
        lines.append(
            f"{name} = {s['r']:.2f} [{s['ci_low']:.2f}, {s['ci_high']:.2f}]  (ceiling {ceiling[key]['mean']:.2f})"
        )
    return "\n".join(lines)


def _names(models: pd.DataFrame, labels: dict[str, str]) -> list[str]:
    several = models["condition"].nunique() > 1
    pairs = zip(models["model"], models["condition"], strict=True)
    return [f"{labels.get(m, m)} ({c})" if several else labels.get(m, m) for m, c in pairs]


def _diagonal(ax: plt.Axes, low: float, high: float) -> None:
    """Square axes over [low, high] with the identity line and the chance level."""
    ax.plot([low, high], [low, high], color="grey", linestyle="--", linewidth=0.8, label="MIS = HIS")
    ax.axhline(CHANCE, color="grey", linestyle=":", linewidth=0.8)
    ax.axvline(CHANCE, color="grey", linestyle=":", linewidth=0.8)
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_aspect("equal")


def plot(
    units: pd.DataFrame,
    models: pd.DataFrame,
    summary: dict[str, Any],
    path: str | os.PathLike,
    similarity_label: str,
    labels: dict[str, str] | None = None,
) -> None:
    """``units``/``models``/``summary``: the outputs of ``mis.imi.alpha.fit_alpha``."""
    labels = {**IMI_LABELS, **(labels or {})}
    models = models.sort_values(["model", "condition"], ignore_index=True)
    names = _names(models, labels)
    colours = {(m, c): f"C{i % 10}" for i, (m, c) in enumerate(zip(models["model"], models["condition"], strict=True))}
    held, fitted = units[units["split"] == "held_out"], units[units["split"] == "fit"]
    mis_label = f"MIS (α = {summary['alpha']:.3g}, fitted by {summary['objective'].replace('_', ' ')})"
    low = min(0.4, float(units[["mis", "his"]].min().min()) - 0.03)

    fig, (ax_a, ax_rank, ax_b) = plt.subplots(1, 3, figsize=(14, 5), gridspec_kw={"width_ratios": [1, 0.7, 1]})
    for i, row in models.iterrows():
        xerr = [[row["mean_mis"] - row["mis_ci_low"]], [row["mis_ci_high"] - row["mean_mis"]]]
        yerr = [[row["mean_his"] - row["his_ci_low"]], [row["his_ci_high"] - row["mean_his"]]]
        ax_a.errorbar(
            row["mean_mis"],
            row["mean_his"],
            xerr=xerr,
            yerr=yerr,
            fmt="o",
            capsize=2,
            markersize=5,
            color=colours[(row["model"], row["condition"])],
            label=names[i],
        )
    extent = models[["mis_ci_low", "mis_ci_high", "his_ci_low", "his_ci_high"]].to_numpy()
    _diagonal(ax_a, float(extent.min()) - 0.02, float(extent.max()) + 0.02)
    ax_a.set_xlabel(mis_label)
    ax_a.set_ylabel("human interpretability score (HIS)")
    ax_a.set_title("A  Model level: mean over held-out units (95 % CI)", loc="left")
    ax_a.legend(loc="upper left", fontsize=7, frameon=False)
    ceiling = summary["noise_ceiling"]
    ax_a.text(
        0.98,
        0.03,
        _correlation_text(summary["held_out"]["model"], ceiling["model"], "models"),
        transform=ax_a.transAxes,
        ha="right",
        va="bottom",
        fontsize=7,
    )

    for i, row in models.iterrows():
        ax_rank.plot(
            [0, 1], [row["rank_his"], row["rank_mis"]], marker="o", color=colours[(row["model"], row["condition"])]
        )
        ax_rank.text(-0.06, row["rank_his"], f"{names[i]}  {row['rank_his']}", ha="right", va="center", fontsize=7)
        ax_rank.text(1.06, row["rank_mis"], f"{row['rank_mis']}  {names[i]}", ha="left", va="center", fontsize=7)
    ax_rank.set_xlim(-0.1, 1.1)
    ax_rank.set_ylim(len(models) + 0.5, 0.5)
    ax_rank.set_xticks([0, 1], ["rank by HIS", "rank by MIS"])
    ax_rank.set_yticks([])
    ax_rank.spines[["left", "bottom"]].set_visible(False)
    ax_rank.tick_params(axis="x", length=0)
    ax_rank.set_title("Model ranking (1 = most interpretable)", loc="center")

    ax_b.scatter(fitted["mis"], fitted["his"], s=8, color="lightgrey", label=f"units that fitted α (n = {len(fitted)})")
    for (model, condition), group in held.groupby(["model", "condition"], sort=True):
        ax_b.scatter(group["mis"], group["his"], s=10, alpha=0.8, color=colours.get((model, condition), "black"))
    _diagonal(ax_b, low, 1.01)
    ax_b.set_xlabel(mis_label)
    ax_b.set_ylabel("human interpretability score (HIS)")
    ax_b.set_title("B  Unit level (colours: models as in A)", loc="left")
    ax_b.text(
        0.98,
        0.03,
        _correlation_text(summary["held_out"]["unit"], ceiling["unit"], "units"),
        transform=ax_b.transAxes,
        ha="right",
        va="bottom",
        fontsize=7,
    )
    ax_b.legend(loc="upper left", fontsize=7, frameon=False)

    conditions = ", ".join(summary["conditions"])
    fig.suptitle(f"MIS vs IMI human scores ({conditions}); similarity: {similarity_label}", fontsize=10)
    fig.tight_layout()
    save_pdf(fig, path)
