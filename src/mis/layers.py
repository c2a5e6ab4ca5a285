"""Layers of interest of a model, their channel axis, and the layer metadata table."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn

# Layer types of the 2024 paper, checked in order (a timm BatchNormAct2d is a BatchNorm2d).
LAYER_TYPES: dict[str, tuple[type[nn.Module], ...]] = {
    "conv": (nn.Conv1d, nn.Conv2d, nn.Conv3d),
    "linear": (nn.Linear,),
    "batchnorm": (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d),
    "layernorm": (nn.LayerNorm,),
    "groupnorm": (nn.GroupNorm,),
}


@dataclass(frozen=True)
class Layer:
    """A hooked module whose units are its channels or, with ``readout``, the latents of a
    dictionary read from its output (``mis.sae``): ``readout(output, channel_axis)`` returns the
    output with its channel axis replaced by the units, which are then aggregated like channels.
    One module can appear as several layers, each with its own name."""

    name: str
    layer_type: str
    module: nn.Module
    readout: Callable[[torch.Tensor, int], torch.Tensor] | None = None

    @property
    def channel_axis(self) -> int:
        """Where the channels are in this layer's output.

        Linear and LayerNorm act on the last axis (tokens (B,T,C) or channels-last (B,H,W,C)),
        except timm's LayerNorm2d, which normalises NCHW maps; everything else is channels-first.
        """
        if self.layer_type == "linear":
            return -1
        if self.layer_type == "layernorm" and type(self.module).__name__ != "LayerNorm2d":
            return -1
        return 1


def layer_type_of(module: nn.Module) -> str | None:
    for name, classes in LAYER_TYPES.items():
        if isinstance(module, classes):
            return name
    return None


def select_layers(
    model: nn.Module,
    types: Sequence[str],
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> list[Layer]:
    """Modules of the requested types, in definition order, filtered by name regexes.

    ``include``: if given, a module name must match at least one pattern; ``exclude``: it must
    match none.
    """
    unknown = set(types) - set(LAYER_TYPES)
    if unknown:
        raise ValueError(f"unknown layer types {sorted(unknown)}; choose from {list(LAYER_TYPES)}")
    include_re = [re.compile(p) for p in include]
    exclude_re = [re.compile(p) for p in exclude]
    layers = []
    for name, module in model.named_modules():
        layer_type = layer_type_of(module)
        if layer_type not in types:
            continue
        if include_re and not any(p.search(name) for p in include_re):
            continue
        if any(p.search(name) for p in exclude_re):
            continue
        layers.append(Layer(name, layer_type, module))
    if not layers:
        raise ValueError(f"no layers of types {list(types)} match include={list(include)} exclude={list(exclude)}")
    return layers


def find_layer(model: nn.Module, layer_name: str) -> Layer:
    """The module named ``layer_name``; the error suggests near names among the scorable ones."""
    try:
        return select_layers(model, list(LAYER_TYPES), include=[f"^{re.escape(layer_name)}$"])[0]
    except ValueError:
        scorable = [layer.name for layer in select_layers(model, list(LAYER_TYPES))]
        near = difflib.get_close_matches(layer_name, scorable, n=5, cutoff=0.5) or scorable[:5]
        raise ValueError(
            f"no Conv, Linear, BatchNorm, LayerNorm or GroupNorm module named '{layer_name}' in the model; "
            f"for example: {near}"
        ) from None


def layer_table(layers: Sequence[Layer], channels: Sequence[int]) -> pd.DataFrame:
    """One row per layer with its unit offset, relative depth and relative width (method.md §1)."""
    n = len(layers)
    widest = max(channels)
    offsets = [0]
    for c in channels[:-1]:
        offsets.append(offsets[-1] + c)
    return pd.DataFrame(
        {
            "layer": [layer.name for layer in layers],
            "layer_type": [layer.layer_type for layer in layers],
            "module_class": [type(layer.module).__name__ for layer in layers],
            "channels": list(channels),
            "unit_offset": offsets,
            "relative_depth": [i / (n - 1) if n > 1 else 0.0 for i in range(n)],
            "relative_width": [c / widest for c in channels],
        }
    )
