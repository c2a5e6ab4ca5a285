"""Fig. 5: MIS by layer type, and the Holm-corrected Conover p-values between layer types."""

from __future__ import annotations

import os

import pandas as pd
import scikit_posthocs

from mis.results import live
from mis.settings import LAYER_TYPES

PathLike = str | os.PathLike


def layer_type_means(units: pd.DataFrame) -> pd.DataFrame:
    """Mean MIS per (model, layer type) over non-constant units: the observations of Fig. 5."""
    scored = units[live(units)]
    table = scored.groupby(["model", "layer_type"]).agg(mis=("mis", "mean"), n_units=("mis", "size")).reset_index()
    order = [t for t in LAYER_TYPES if t in set(table["layer_type"])]
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
