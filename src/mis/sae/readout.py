"""Dictionary latents as layers of the streamed pass, and how their units are labelled.

A dictionary read from module ``blocks.3.2.conv_pwl`` is the layer ``blocks.3.2.conv_pwl/<name>``
(``dictionary_label``): that label is the ``layer`` column of its units in ``units.parquet``, so
every latent stays identifiable downstream (``split_label``). Module names never hold a ``/``;
dictionary names are folder-safe (letters, digits, ``_``, ``.``, ``-``), e.g. ``relu-l1_0.1-x4``.
Several dictionaries, and the module's own channels, are recorded by one pass over the images: each
is a ``Layer`` with its own hook on the same module (``dictionary_layer``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

import pandas as pd

from mis.layers import Layer, layer_table
from mis.sae.dictionary import Dictionary, DictionaryError

SEPARATOR = "/"
NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


def dictionary_label(module_name: str, dictionary_name: str) -> str:
    """The layer label of a dictionary's units: ``<module>/<dictionary>``."""
    if not NAME.match(dictionary_name) or dictionary_name in (".", ".."):
        raise ValueError(
            f"dictionary name '{dictionary_name}': use letters, digits, '_', '.' and '-' (it names files and units)"
        )
    return f"{module_name}{SEPARATOR}{dictionary_name}"


def split_label(label: str) -> tuple[str, str | None]:
    """(module name, dictionary name) of a unit table's ``layer`` value; None for a module's channels."""
    module, _, dictionary = label.partition(SEPARATOR)
    return module, dictionary or None


def dictionary_layer(layer: Layer, dictionary: Dictionary, name: str) -> Layer:
    """``layer``'s module read through ``dictionary``, labelled ``<module>/<name>``."""
    return replace(layer, name=dictionary_label(layer.name, name), readout=dictionary.read_out)


def check_widths(dictionaries: Mapping[str, Dictionary], channels: int, module_name: str) -> None:
    """Every dictionary reads as many channels as the module has: checked before the pass, so that
    the error names the dictionary (a forward hook's could not)."""
    for name, dictionary in dictionaries.items():
        if dictionary.d_in != channels:
            raise DictionaryError(
                f"dictionary '{name}' reads {dictionary.d_in} channels, layer '{module_name}' has {channels}"
            )


def layer_table_with_dictionaries(layers: Sequence[Layer], counts: Sequence[int]) -> pd.DataFrame:
    """``mis.layers.layer_table`` for channel and dictionary layers together, rows (and unit
    offsets) in the order of ``layers``. Relative depth and width are computed among the channel
    layers only, so adding dictionaries changes no channel row; a dictionary row takes its module's
    depth, width, type and class (it describes where the latents are read) and its own unit count."""
    channel_layers = [(layer, count) for layer, count in zip(layers, counts) if layer.readout is None]
    modules = layer_table([layer for layer, _ in channel_layers], [count for _, count in channel_layers])
    modules = modules.set_index("layer", drop=False)
    rows = []
    for layer, count in zip(layers, counts):
        module = split_label(layer.name)[0]
        if module not in modules.index:
            raise ValueError(f"dictionary layer '{layer.name}': its module '{module}' is not among the layers scored")
        rows.append({**modules.loc[module].to_dict(), "layer": layer.name, "channels": count})
    table = pd.DataFrame(rows, columns=modules.columns)
    table["unit_offset"] = table["channels"].cumsum() - table["channels"]
    return table
