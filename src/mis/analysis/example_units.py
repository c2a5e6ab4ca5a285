"""Appendix: example units, the highest- and lowest-MIS unit of each model with their most and
least activating images."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from mis.results import live

PathLike = str | os.PathLike


def example_units(units: pd.DataFrame) -> pd.DataFrame:
    """The highest- and lowest-MIS non-constant unit of each model, with their row in the model's
    unit order (the row of the extremes arrays)."""
    rows = []
    for _, group in units.groupby("model", sort=False):
        group = group.reset_index(drop=True)  # row = position in the model's unit order
        scored = group[live(group)]
        for rank, row in (("highest", scored["mis"].idxmax()), ("lowest", scored["mis"].idxmin())):
            columns = ["model", "layer", "unit", "mis", "hard_accuracy"]
            rows.append({"rank": rank, "row": row, **group.loc[row, columns].to_dict()})
    return pd.DataFrame(rows)


def extreme_images(examples: pd.DataFrame, extremes_paths: dict[str, PathLike], n_images: int) -> pd.DataFrame:
    """The ``n_images`` most and least activating images of each example unit, a row each
    (example, side, position, image): only the two index arrays of each model's extremes file are
    read, one model at a time (a sweep's extremes files together would not fit in memory)."""
    rows = []
    for model, group in examples.reset_index(drop=True).groupby("model", sort=False):
        with np.load(extremes_paths[model]) as extremes:
            indices = {"top": extremes["top_idx"], "bottom": extremes["bottom_idx"]}
        for example, row in group["row"].items():
            for side, idx in indices.items():
                rows += [(example, side, position, int(image)) for position, image in enumerate(idx[row, :n_images])]
    return pd.DataFrame(rows, columns=["example", "side", "position", "image"]).sort_values(
        ["example", "side"], ascending=[True, False], kind="stable", ignore_index=True
    )
