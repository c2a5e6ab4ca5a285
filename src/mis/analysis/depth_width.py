"""Fig. 6 (and Fig. 8's layer means): mean MIS per layer, with its type, relative depth and width."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from mis.results import live

PathLike = str | os.PathLike


def layer_means(units: pd.DataFrame) -> pd.DataFrame:
    """Mean MIS per (model, layer) over non-constant units, with the layer's type, relative depth and
    width: the points of Fig. 6."""
    scored = units[live(units)]
    keys = ["model", "layer", "layer_type", "relative_depth", "relative_width"]
    return scored.groupby(keys, sort=False).agg(mis=("mis", "mean"), n_units=("mis", "size")).reset_index()


N_BINS = 10


def layer_bins(layers: pd.DataFrame) -> pd.DataFrame:
    """Fig. 6's lines: per layer type and x axis (relative depth, relative width), the mean MIS of
    the layers in each of ``N_BINS`` equal bins of [0, 1] that holds any."""
    edges = np.linspace(0, 1, N_BINS + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    rows = []
    for axis in ("relative_depth", "relative_width"):
        for layer_type, group in layers.groupby("layer_type", sort=True):
            bins = np.clip(np.digitize(group[axis], edges) - 1, 0, N_BINS - 1)
            means = group.groupby(bins)["mis"].agg(["mean", "size"])
            for b, row in means.iterrows():
                centre, mean, size = centres[b], row["mean"], int(row["size"])
                rows.append(
                    {"axis": axis, "layer_type": layer_type, "bin_centre": centre, "mis": mean, "n_layers": size}
                )
    return pd.DataFrame(rows, columns=["axis", "layer_type", "bin_centre", "mis", "n_layers"])
