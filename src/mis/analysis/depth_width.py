"""Fig. 6 (and Fig. 8's layer means): mean MIS per layer, with its type, relative depth and width."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from mis.results import live, read_units
from mis.storage import write_table

PathLike = str | os.PathLike


def layer_means(units: pd.DataFrame) -> pd.DataFrame:
    """Mean MIS per (model, layer) over non-constant units, with the layer's type, relative depth and
    width: the points of Fig. 6."""
    scored = units[live(units)]
    keys = ["model", "layer", "layer_type", "relative_depth", "relative_width"]
    return scored.groupby(keys, sort=False).agg(mis=("mis", "mean"), n_units=("mis", "size")).reset_index()


def analyze_depth_width(units_paths: Sequence[PathLike], table_path: PathLike) -> pd.DataFrame:
    layers = layer_means(read_units(units_paths))
    write_table(layers, table_path)
    return layers
