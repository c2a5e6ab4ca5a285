"""Appendix figure of the IMI validation: the units where MIS overestimates HIS most, each with a
trial as humans saw it, from the table of ``mis.imi.appendix.overestimated_units``."""

from __future__ import annotations

import os

import pandas as pd
from PIL import Image

from mis.figures.style import plt, save_pdf

THUMBNAIL = 64


def _thumbnail(path: str) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB").resize((THUMBNAIL, THUMBNAIL))


def plot(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """One row per unit: its trial's 9 positive references, the positive and negative queries,
    and the 9 negative references (the table holds their paths as the stage found them)."""
    fig, axes = plt.subplots(len(table), 20, figsize=(20 * 0.55, len(table) * 0.8), squeeze=False)
    for r, unit in enumerate(table.itertuples()):
        shown = [(p, "C2") for p in unit.max_refs.split(";")] + [(unit.max_query, "C2"), (unit.min_query, "C3")]
        shown += [(p, "C3") for p in unit.min_refs.split(";")]
        for c, (image, colour) in enumerate(shown):
            ax = axes[r, c]
            ax.imshow(_thumbnail(image))
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(True)
                spine.set_color(colour)
                spine.set_linewidth(2 if c in (9, 10) else 0.8)
        axes[r, 0].set_ylabel(
            f"{unit.model} ({unit.condition})\n{unit.layer}:{unit.channel}\nMIS {unit.mis:.2f}, "
            f"HIS {unit.his:.2f} (n = {unit.n_trials})",
            fontsize=5,
            rotation=0,
            ha="right",
            va="center",
        )
    axes[0, 0].set_title("positive references (green)", fontsize=6, loc="left")
    axes[0, 9].set_title("queries +/−", fontsize=6, loc="left")
    axes[0, 11].set_title("negative references (red)", fontsize=6, loc="left")
    fig.suptitle("Units where MIS overestimates HIS most (one trial each, batch order)", fontsize=8)
    save_pdf(fig, path)
