"""Appendix figures of the IMI validation: the similarity-function comparison (MIS paper p.17) and
the units where MIS overestimates HIS most, drawn from the tables of ``mis.imi.appendix``."""

from __future__ import annotations

import os

import pandas as pd
from PIL import Image

from mis.figures.style import plt, save_pdf
from mis.imi.appendix import CEILING

THUMBNAIL = 64


def plot_similarity_comparison(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Bars: mean correlation of MIS with resampled HIS per backend (± sd over the resamplings);
    dashed: the noise ceiling (mean, its sd shaded). One panel per level and correlation."""
    panels = table[["level", "correlation"]].drop_duplicates().sort_values(["level", "correlation"], ascending=[False, True])
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6), sharey=True, squeeze=False)
    for ax, (_, panel) in zip(axes[0], panels.iterrows(), strict=True):
        rows = table[(table["level"] == panel["level"]) & (table["correlation"] == panel["correlation"])]
        bars, ceiling = rows[rows["similarity"] != CEILING], rows[rows["similarity"] == CEILING].iloc[0]
        positions = range(len(bars))
        ax.bar(positions, bars["mean"], yerr=bars["sd"], capsize=3, color=[f"C{i}" for i in positions])
        ax.axhline(ceiling["mean"], color="black", linestyle="--", linewidth=1, label=f"noise ceiling ({ceiling['mean']:.2f})")
        ax.axhspan(ceiling["mean"] - ceiling["sd"], ceiling["mean"] + ceiling["sd"], color="grey", alpha=0.2, linewidth=0)
        ax.set_xticks(list(positions), bars["label"], rotation=30, ha="right", fontsize=7)
        n = f"n = {ceiling['n_units']} units" if panel["level"] == "unit" else f"n = {ceiling['n_models']} models"
        ax.set_title(f"{panel['level']} level, {panel['correlation']} ({n})", fontsize=8)
        ax.legend(loc="lower right", fontsize=6, frameon=False)
    axes[0, 0].set_ylabel(f"correlation of MIS with HIS\n(mean ± sd over {int(table['n_simulations'].iloc[0])} resamplings)")
    fig.suptitle("Similarity functions: MIS vs human scores (held-out IMI units)", fontsize=10)
    fig.tight_layout()
    save_pdf(fig, path)


def _thumbnail(path: str) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB").resize((THUMBNAIL, THUMBNAIL))


def plot_overestimated_units(table: pd.DataFrame, image_root: str | os.PathLike, path: str | os.PathLike) -> None:
    """One row per unit: its trial's 9 positive references, the positive and negative queries,
    and the 9 negative references."""
    fig, axes = plt.subplots(len(table), 20, figsize=(20 * 0.55, len(table) * 0.8), squeeze=False)
    for r, unit in enumerate(table.itertuples()):
        shown = [(p, "C2") for p in unit.max_refs.split(";")] + [(unit.max_query, "C2"), (unit.min_query, "C3")]
        shown += [(p, "C3") for p in unit.min_refs.split(";")]
        for c, (image, colour) in enumerate(shown):
            ax = axes[r, c]
            ax.imshow(_thumbnail(os.path.join(image_root, image)))
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(True)
                spine.set_color(colour)
                spine.set_linewidth(2 if c in (9, 10) else 0.8)
        axes[r, 0].set_ylabel(f"{unit.model} ({unit.condition})\n{unit.layer}:{unit.channel}\nMIS {unit.mis:.2f}, "
                              f"HIS {unit.his:.2f} (n = {unit.n_trials})", fontsize=5, rotation=0, ha="right", va="center")
    axes[0, 0].set_title("positive references (green)", fontsize=6, loc="left")
    axes[0, 9].set_title("queries +/−", fontsize=6, loc="left")
    axes[0, 11].set_title("negative references (red)", fontsize=6, loc="left")
    fig.suptitle("Units where MIS overestimates HIS most (one trial each, batch order)", fontsize=8)
    save_pdf(fig, path)
