"""Appendix figure: example units, the most and least activating images of each model's highest-
and lowest-MIS units."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mis.results import read_units
from mis.datasets import ImageDataset
from mis.figures.style import plt, save_pdf
from mis.storage import read_table, write_table

THUMBNAIL = 96


def example_units(units: pd.DataFrame) -> pd.DataFrame:
    """The highest- and lowest-MIS non-constant unit of each model, with their row in the model's
    unit order (the row of the extremes arrays)."""
    rows = []
    for _, group in units.groupby("model", sort=False):
        group = group.reset_index(drop=True)  # row = position in the model's unit order
        live = group[~group["constant"]]
        for rank, row in (("highest", live["mis"].idxmax()), ("lowest", live["mis"].idxmin())):
            rows.append({"rank": rank, "row": row, **group.loc[row, ["model", "layer", "unit", "mis", "hard_accuracy"]].to_dict()})
    return pd.DataFrame(rows)


def extreme_images(examples: pd.DataFrame, extremes_paths: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """The most and least activating images of each example unit (rows of ``examples``): only the
    two index arrays of each model's extremes file are read, one model at a time (a sweep's
    extremes files together would not fit in memory)."""
    top, bottom = [None] * len(examples), [None] * len(examples)
    for model, group in examples.reset_index(drop=True).groupby("model", sort=False):
        with np.load(extremes_paths[model]) as extremes:
            top_idx, bottom_idx = extremes["top_idx"], extremes["bottom_idx"]
        for position, row in group["row"].items():
            top[position], bottom[position] = top_idx[row], bottom_idx[row]
    return np.stack(top), np.stack(bottom)


def plot_example_units(
    examples: pd.DataFrame,
    top_idx: np.ndarray,
    bottom_idx: np.ndarray,
    images_root: str | os.PathLike,
    paths: Sequence[str],
    path: str | os.PathLike,
    n_images: int = 5,
) -> None:
    """One row per example unit: its ``n_images`` most activating images (``top_idx``, a row per
    example), then its least activating (``bottom_idx``)."""
    from torchvision import transforms  # only this figure needs it

    thumbnail = transforms.Compose([transforms.Resize(THUMBNAIL), transforms.CenterCrop(THUMBNAIL), transforms.ToTensor()])
    dataset = ImageDataset(images_root, paths, thumbnail, (3, THUMBNAIL, THUMBNAIL))
    fig, axes = plt.subplots(len(examples), 2 * n_images, figsize=(2 * n_images * 0.9, len(examples) * 1.1), squeeze=False)
    for r, example in enumerate(examples.itertuples()):
        shown = list(top_idx[r, :n_images]) + list(bottom_idx[r, :n_images])
        for c, image_index in enumerate(shown):
            ax = axes[r, c]
            ax.imshow(dataset[int(image_index)][0].permute(1, 2, 0).numpy())
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(True)
                spine.set_color("C2" if c < n_images else "C3")
        axes[r, 0].set_ylabel(f"{example.model}\n{example.layer}:{example.unit}\nMIS {example.mis:.2f} ({example.rank})", fontsize=5, rotation=0, ha="right", va="center")
    axes[0, 0].set_title(f"most activating (left {n_images})", fontsize=7, loc="left")
    axes[0, n_images].set_title(f"least activating (right {n_images})", fontsize=7, loc="left")
    save_pdf(fig, path)


def make_example_units(
    models: list[str],
    units_paths: list[str],
    extremes_paths: list[str],
    manifest_path: str,
    images_root: str,
    table_path: str,
    figure_path: str,
) -> pd.DataFrame:
    examples = example_units(read_units(units_paths))
    write_table(examples, table_path)
    plot_example_units(
        examples,
        *extreme_images(examples, dict(zip(models, extremes_paths))),
        images_root,
        list(read_table(manifest_path)["path"]),
        figure_path,
    )
    return examples
