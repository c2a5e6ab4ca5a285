"""Appendix figure: the share of constant units per model."""

from __future__ import annotations

import os

import pandas as pd

from mis.figures.style import plt, save_pdf


def plot(table: pd.DataFrame, path: str | os.PathLike, threshold: float) -> None:
    """``table`` (``mis.analysis.models``): per model, sorted by its share of constant units, its
    label and counts; ``threshold``: the config's ``mis.constant_threshold``."""
    data = table
    fig, ax = plt.subplots(figsize=(max(4.5, 0.5 * len(data) + 3), 3.2))
    ax.bar(range(len(data)), data["constant_ratio"] * 100, color="C0")
    ticks = [
        f"{label}\n({c:,} of {c + n:,})" for label, c, n in zip(data["label"], data["n_constant"], data["n_units"])
    ]
    ax.set_xticks(range(len(data)), ticks, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("constant units (%)")
    ax.set_xlabel(f"model ({len(data)} models; constant of all units)")
    ax.set_title(
        f"Constant units per model (max − min activation over the dataset ≤ {threshold:g} × "
        "the layer's largest |activation|)",
        fontsize=9,
    )
    save_pdf(fig, path)
