"""Appendix figure: example units, the most and least activating images of each model's highest-
and lowest-MIS units."""

from __future__ import annotations

import os

import pandas as pd

from mis.datasets import ImageDataset
from mis.figures.style import plt, save_pdf

THUMBNAIL = 96


def plot(examples: pd.DataFrame, images: pd.DataFrame, images_root: str | os.PathLike, path: str | os.PathLike) -> None:
    """The tables of ``mis.analysis.example_units``: one row per example unit, with its most
    activating images (left), then its least activating (right); ``images`` lists them per example
    (``example`` = row of ``examples``), top side first, each side in rank order."""
    from torchvision import transforms  # only this figure needs it

    n_images = int(images["position"].max()) + 1
    thumbnail = transforms.Compose(
        [transforms.Resize(THUMBNAIL), transforms.CenterCrop(THUMBNAIL), transforms.ToTensor()]
    )
    dataset = ImageDataset(images_root, list(images["path"]), thumbnail, (3, THUMBNAIL, THUMBNAIL))
    shown_per_example = images.reset_index(drop=True).groupby("example", sort=True).groups
    fig, axes = plt.subplots(
        len(examples), 2 * n_images, figsize=(2 * n_images * 0.9, len(examples) * 1.1), squeeze=False
    )
    for r, example in enumerate(examples.itertuples()):
        for c, image_row in enumerate(shown_per_example[r]):
            ax = axes[r, c]
            ax.imshow(dataset[int(image_row)][0].permute(1, 2, 0).numpy())
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(True)
                spine.set_color("C2" if c < n_images else "C3")
        axes[r, 0].set_ylabel(
            f"{example.model}\n{example.layer}:{example.unit}\nMIS {example.mis:.2f} ({example.rank})",
            fontsize=5,
            rotation=0,
            ha="right",
            va="center",
        )
    axes[0, 0].set_title(f"most activating (left {n_images})", fontsize=7, loc="left")
    axes[0, n_images].set_title(f"least activating (right {n_images})", fontsize=7, loc="left")
    save_pdf(fig, path)
