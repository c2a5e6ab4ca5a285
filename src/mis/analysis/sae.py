"""The SAE appendix's table and figure: per dictionary of one layer, its sparsity weight, L0,
reconstruction and model fidelity beside the mean MIS of its latents, and the layer's own channels'
mean MIS; and the per-unit MIS of the channels and of every dictionary's latents.

Both come from the unit table of the model ``<model>-sae``, whose ``layer`` column is the layer's
module name for its channels and ``<module>/<dictionary>`` for a dictionary's latents
(``mis.sae.readout``), and from the metrics table of ``mis.sae.metrics``. No torch here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from mis.results import live, model_summary
from mis.settings import SaeSettings

PathLike = str | os.PathLike
CHANNELS = "channels"  # the kind of the layer's own units in the per-unit table
SUMMARY_COLUMNS = ["mean_mis", "median_mis", "p05_mis", "p95_mis", "n_units", "n_constant", "n_tied"]


def dictionary_of(units: pd.DataFrame, layer: str) -> pd.Series:
    """Each unit's dictionary name, NaN for the layer's channels; a unit of another layer is an error."""
    prefix = f"{layer}/"
    channel = units["layer"] == layer
    latent = units["layer"].str.startswith(prefix)
    if not (channel | latent).all():
        others = sorted(set(units["layer"][~(channel | latent)]))
        raise ValueError(f"units of layers other than '{layer}' and its dictionaries: {others}")
    return units["layer"].str.removeprefix(prefix).where(latent)


def sae_table(
    units: pd.DataFrame, metrics: pd.DataFrame, trained: Mapping[str, SaeSettings], layer: str
) -> pd.DataFrame:
    """One row per dictionary of ``metrics``: ``source`` (trained here, or the user's file),
    ``kind``, ``sparsity`` and ``expansion`` (trained ones; NaN for files), the metrics, then the
    MIS statistics of its non-constant latents (``model_summary``'s: mean, median, 5th and 95th
    percentile, their number, the constant ones, and the live ones whose most or least activating
    images include ties broken by image index: many, for a sparse dictionary whose latents are zero
    on most images) and the same mean and number for the layer's channels (``layer_mean_mis``,
    ``layer_n_units``). Trained SAEs by kind, size and sparsity, then the files."""
    dictionary = dictionary_of(units, layer)
    missing = set(metrics["dictionary"]) - set(dictionary.dropna())
    if missing:
        raise ValueError(f"dictionaries without units in the unit table: {sorted(missing)}")
    summary = model_summary(units.assign(model=dictionary.fillna(""))).set_index("model")
    table = metrics.copy()
    table.insert(1, "source", ["trained" if name in trained else "file" for name in table["dictionary"]])
    table.insert(3, "sparsity", [trained[n].sparsity if n in trained else np.nan for n in table["dictionary"]])
    table.insert(4, "expansion", [trained[n].expansion if n in trained else np.nan for n in table["dictionary"]])
    table = table.join(summary[SUMMARY_COLUMNS], on="dictionary")
    table["layer_mean_mis"] = summary.loc["", "mean_mis"]
    table["layer_n_units"] = summary.loc["", "n_units"]
    order = ["is_file", "kind", "expansion", "sparsity", "dictionary"]
    table = table.assign(is_file=table["source"].eq("file")).sort_values(order, ignore_index=True)
    return table.drop(columns="is_file")


def sae_unit_mis(units: pd.DataFrame, metrics: pd.DataFrame, layer: str) -> pd.DataFrame:
    """The MIS of every non-constant unit: the layer's channels (``kind`` = ``channels``, no
    dictionary) and each dictionary's live latents (its ``kind``), for the distributions."""
    dictionary = dictionary_of(units, layer)
    kinds = metrics.set_index("dictionary")["kind"]
    table = pd.DataFrame(
        {
            "dictionary": dictionary,
            "kind": dictionary.map(kinds).fillna(CHANNELS),
            "unit": units["unit"],
            "mis": units["mis"],
        }
    )
    return table[live(units).to_numpy()].reset_index(drop=True)
