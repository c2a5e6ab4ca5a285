"""Layers of interest of a model, their channel axis, and the layer metadata table."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn

from mis.settings import LAYER_TYPES

# The modules of each layer type (the names are mis.settings.LAYER_TYPES, the one vocabulary). The
# paper's five, checked in order (a timm BatchNormAct2d is a BatchNorm2d, its LayerNorm2d and
# LayerNormAct2d are LayerNorms), by class:
LAYER_CLASSES: dict[str, tuple[type[nn.Module], ...]] = {
    "conv": (nn.Conv1d, nn.Conv2d, nn.Conv3d),
    "linear": (nn.Linear,),
    "batchnorm": (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d),
    "layernorm": (nn.LayerNorm,),
    "groupnorm": (nn.GroupNorm,),
}
# the normalisations outside them, off by default (extraction.layer_types adds them), by the names of
# their classes or base classes: RMS norms (timm's RmsNorm, SimpleNorm and their 2d, Fp32 and Act
# variants, torch's RMSNorm) and ConvNeXt-V2's GlobalResponseNorm.
EXTRA_LAYER_CLASSES: dict[str, tuple[str, ...]] = {
    "rmsnorm": ("RMSNorm", "RmsNorm", "RmsNorm2d", "RmsNormFp32", "RmsNorm2dFp32", "SimpleNorm", "SimpleNorm2d"),
    "grn": ("GlobalResponseNorm",),
}


@dataclass(frozen=True)
class Layout:
    """Where a layer's output holds the images and the units, found from the output itself
    (``mis.activations.probe_layers``): for a batch of B images, axis ``batch_axis`` has B·``fold``
    entries, image-major (the windows, patches or attention heads of one image folded in next to
    it, as Swin, MobileViT, TNT, LeViT's flattened tokens and MViT's pooled heads do), and axis
    ``channel_axis`` (of the output as it is) holds the module's channels. A unit's activation on
    an image is its channel's mean over every other axis of that image's part: positions, tokens,
    windows, patches and heads alike."""

    channel_axis: int = 1
    batch_axis: int = 0
    fold: int = 1

    def per_image(self, output: torch.Tensor) -> torch.Tensor:
        """(images, positions, channels): every position vector of each image, the folded parts'
        included (position vectors for sparse autoencoders)."""
        x = output.movedim((self.batch_axis, self.channel_axis), (0, -1))
        return x.reshape(x.shape[0] // self.fold, -1, x.shape[-1])


@dataclass(frozen=True)
class Layer:
    """A hooked module whose units are its channels or, with ``readout``, the latents of a
    dictionary read from its output (``mis.sae``): ``readout(output, channel_axis)`` returns the
    output with its channel axis replaced by the units, which are then aggregated like channels.
    One module can appear as several layers, each with its own name. ``layout`` is the output's,
    once a probe has seen it."""

    name: str
    layer_type: str
    module: nn.Module
    readout: Callable[[torch.Tensor, int], torch.Tensor] | None = None
    layout: Layout | None = None

    @property
    def channel_axis(self) -> int:
        """Where the channels are in this layer's output: as probed, else the module type's rule
        (Linear and LayerNorm act on the last axis, every other type on axis 1)."""
        if self.layout is not None:
            return self.layout.channel_axis
        return -1 if self.layer_type in LAST_AXIS_TYPES else 1


# Types whose channels are usually the last axis (tokens (B,T,C), channels-last (B,H,W,C)); the probe
# finds the axis from the output where the type's rule is wrong (timm's LayerNorm2d family).
LAST_AXIS_TYPES = ("linear", "layernorm", "rmsnorm")


def declared_width(module: nn.Module) -> int | None:
    """The number of channels a module says it outputs, or None where it does not say."""
    for attribute in ("out_channels", "out_features", "num_features", "num_channels"):
        value = getattr(module, attribute, None)
        if isinstance(value, int):
            return value
    shape = getattr(module, "normalized_shape", None)
    if shape is not None:
        return int(shape[-1]) if isinstance(shape, (tuple, list, torch.Size)) else int(shape)
    weight = getattr(module, "weight", None)  # GlobalResponseNorm and other per-channel affine norms
    return int(weight.shape[0]) if isinstance(weight, torch.Tensor) and weight.ndim == 1 else None


def layer_type_of(module: nn.Module) -> str | None:
    for name, classes in LAYER_CLASSES.items():
        if isinstance(module, classes):
            return name
    bases = {cls.__name__ for cls in type(module).__mro__}
    return next((name for name, names in EXTRA_LAYER_CLASSES.items() if bases & set(names)), None)


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
        return select_layers(model, LAYER_TYPES, include=[f"^{re.escape(layer_name)}$"])[0]
    except ValueError:
        scorable = [layer.name for layer in select_layers(model, LAYER_TYPES)]
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
