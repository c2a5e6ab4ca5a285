"""Fig. 5: MIS by layer type, and the Holm-corrected Conover p-values between layer types."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd
import scikit_posthocs

from mis.results import LAYER_TYPE_ORDER, live, read_units
from mis.storage import write_table

PathLike = str | os.PathLike


def layer_type_means(units: pd.DataFrame) -> pd.DataFrame:
    """Mean MIS per (model, layer type) over non-constant units: the observations of Fig. 5."""
    scored = units[live(units)]
    table = scored.groupby(["model", "layer_type"]).agg(mis=("mis", "mean"), n_units=("mis", "size")).reset_index()
    order = [t for t in LAYER_TYPE_ORDER if t in set(table["layer_type"])]
    table = table.assign(layer_type=pd.Categorical(table["layer_type"], order, ordered=True))
    return table.sort_values(["layer_type", "model"])


def conover_holm(means: pd.DataFrame) -> pd.DataFrame:
    """Pairwise Conover tests between layer types on the per-model means, Holm-corrected
    (a square table of p-values; the diagonal is 1)."""
    types = [t for t in means["layer_type"].cat.categories if (means["layer_type"] == t).any()]
    if len(types) < 2:
        raise ValueError("the Conover test needs at least two layer types with scores")
    data = means.assign(layer_type=means["layer_type"].astype(str))
    pvalues = scikit_posthocs.posthoc_conover(data, val_col="mis", group_col="layer_type", p_adjust="holm")
    return pvalues.loc[types, types]


def analyze_layer_types(units_paths: Sequence[PathLike], table_path: PathLike, pvalues_path: PathLike) -> pd.DataFrame:
    """Per (model, layer type) means, and their Conover p-values (rows and columns in layer-type
    order)."""
    means = layer_type_means(read_units(units_paths))
    write_table(means.assign(layer_type=means["layer_type"].astype(str)), table_path)
    write_table(conover_holm(means).rename_axis("layer_type").reset_index(), pvalues_path)
    return means
