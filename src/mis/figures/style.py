"""Shared plot style and PDF output."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from mis.settings import LAYER_TYPES  # noqa: E402
from mis.storage import atomic_path  # noqa: E402

CHANCE = 0.5
LAYER_COLORS = {layer_type: f"C{i}" for i, layer_type in enumerate(LAYER_TYPES)}  # the same in every figure

plt.rcParams.update(
    {
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.labelsize": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "pdf.fonttype": 42,  # embed TrueType: text stays text in the vector PDF
    }
)


def save_pdf(fig: plt.Figure, path: str | os.PathLike) -> None:
    """Write a vector PDF atomically and close the figure."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="pdf", bbox_inches="tight", metadata={"CreationDate": None})
    plt.close(fig)
