"""Fig. 5: MIS by layer type, and the Holm-corrected Conover p-values between layer types."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from mis.figures.style import plt, save_pdf


def plot(means: pd.DataFrame, pvalues: pd.DataFrame, path: str | os.PathLike) -> None:
    """The tables of ``mis.analysis.layer_types``: ``means``, mean MIS per (model, layer type);
    ``pvalues``, a square table between layer types (column ``layer_type`` names the rows)."""
    pvalues = pvalues.set_index("layer_type") if "layer_type" in pvalues.columns else pvalues
    types = list(pvalues.index)
    fig, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(9, 3.6), gridspec_kw={"width_ratios": [1.2, 1]})
    groups = [means.loc[means["layer_type"] == t, "mis"].to_numpy() for t in types]
    ax_a.boxplot(groups, showfliers=False)
    rng = np.random.default_rng(0)  # horizontal jitter of the points only
    for i, values in enumerate(groups, start=1):
        ax_a.scatter(i + rng.uniform(-0.12, 0.12, len(values)), values, s=10, color="C0", alpha=0.7, zorder=3)
    ax_a.set_xticks(range(1, len(types) + 1), [f"{t}\n(n={len(g)} models)" for t, g in zip(types, groups)], fontsize=7)
    ax_a.set_ylabel("mean per-unit MIS of a model's layers of the type")
    ax_a.set_title("(A) MIS by layer type", fontsize=9)
    shown = np.clip(pvalues.to_numpy(dtype=float), 1e-10, 1)
    strength = -np.log10(shown)
    image = ax_b.imshow(strength, cmap="viridis", vmin=0, vmax=max(2.0, float(strength.max())))  # 2 = p of 0.01
    for (i, j), p in np.ndenumerate(pvalues.to_numpy(dtype=float)):
        ax_b.text(
            j,
            i,
            f"{p:.2g}",
            ha="center",
            va="center",
            fontsize=7,
            color="white" if -np.log10(max(p, 1e-10)) < 1.5 else "black",
        )
    ax_b.set_xticks(range(len(types)), types, rotation=30, fontsize=7)
    ax_b.set_yticks(range(len(types)), types, fontsize=7)
    fig.colorbar(image, ax=ax_b, label="−log10 p (Holm-corrected)")
    ax_b.set_title("(B) Conover test between layer types", fontsize=9)
    save_pdf(fig, path)
