"""Appendix figure: the share of constant units per model."""

from __future__ import annotations

import os

import pandas as pd

from mis.figures.style import plt, save_pdf


def plot(summary: pd.DataFrame, path: str | os.PathLike, labels: dict[str, str] | None = None) -> None:
    """Share of constant units (max − min activation < threshold) per model, models sorted."""
    labels = labels or {}
    data = summary.sort_values("constant_ratio", ignore_index=True)
    fig, ax = plt.subplots(figsize=(max(4.5, 0.5 * len(data) + 3), 3.2))
    ax.bar(range(len(data)), data["constant_ratio"] * 100, color="C0")
    ticks = [
        f"{labels.get(m, m)}\n({c:,} of {c + n:,})"
        for m, c, n in zip(data["model"], data["n_constant"], data["n_units"])
    ]
    ax.set_xticks(range(len(data)), ticks, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("constant units (%)")
    ax.set_xlabel(f"model ({len(data)} models; constant of all units)")
    ax.set_title("Constant units per model (max − min activation over the dataset < 1e-8)", fontsize=9)
    save_pdf(fig, path)
