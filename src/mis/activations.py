"""Per-unit activations, streamed: one forward pass records every layer of interest through hooks,
and a running top-k / bottom-k per unit replaces storing all activations."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from mis.layers import Layer
from mis.models import to_input

log = logging.getLogger(__name__)


def aggregate(output: torch.Tensor, channel_axis: int) -> torch.Tensor:
    """Scalar activation per (image, channel): the mean over every axis but batch and channel.

    (B,C,H,W) with axis 1 → mean over H,W; tokens (B,T,C) or channels-last (B,H,W,C) with axis -1
    → mean over T or H,W; (B,C) is returned as is.
    """
    axis = channel_axis % output.ndim
    reduce = [d for d in range(1, output.ndim) if d != axis]
    out = output.float().mean(dim=reduce) if reduce else output.float()
    return out


class RunningExtremes:
    """The k largest and k smallest values per unit, with their image indices, merged batch by batch.

    Memory is O(k · units), independent of the number of images. Ties are broken towards the lower
    image index (stable sort, earlier images first), so results do not depend on the batch size.
    """

    def __init__(self, k: int, n_units: int, device: torch.device | str = "cpu"):
        self.k = k
        self.top_val = torch.empty(0, n_units, device=device)
        self.top_idx = torch.empty(0, n_units, dtype=torch.long, device=device)
        self.bot_val = torch.empty(0, n_units, device=device)
        self.bot_idx = torch.empty(0, n_units, dtype=torch.long, device=device)

    def update(self, values: torch.Tensor, indices: torch.Tensor) -> None:
        """``values`` (B, units) for the images ``indices`` (B,), given in increasing index order."""
        idx = indices.to(values.device)[:, None].expand_as(values)
        self.top_val, self.top_idx = self._merge(self.top_val, self.top_idx, values, idx, descending=True)
        self.bot_val, self.bot_idx = self._merge(self.bot_val, self.bot_idx, values, idx, descending=False)

    def _merge(self, kept_val, kept_idx, values, idx, descending: bool):
        all_val = torch.cat([kept_val, values])
        all_idx = torch.cat([kept_idx, idx])
        order = torch.sort(all_val, dim=0, descending=descending, stable=True).indices[: self.k]
        return all_val.gather(0, order), all_idx.gather(0, order)


@dataclass
class Extremes:
    """Result of a pass over the dataset; arrays are (k, units), rank 0 the most extreme."""

    top_idx: np.ndarray
    top_val: np.ndarray
    bottom_idx: np.ndarray
    bottom_val: np.ndarray
    n_images: int
    n_skipped: int

    @property
    def value_range(self) -> np.ndarray:
        """max − min activation per unit over the dataset."""
        return self.top_val[0] - self.bottom_val[0]


class ActivationRecorder:
    """Forward hooks that write each layer's aggregated activations into one (B, units) buffer."""

    def __init__(self, layers: Sequence[Layer]):
        self.layers = list(layers)
        self._outputs: dict[int, torch.Tensor] = {}
        self._handles = [
            layer.module.register_forward_hook(self._hook(i, layer.channel_axis)) for i, layer in enumerate(self.layers)
        ]

    def _hook(self, i: int, channel_axis: int):
        def hook(module: nn.Module, inputs, output) -> None:
            self._outputs[i] = aggregate(output, channel_axis)

        return hook

    def collect(self) -> torch.Tensor:
        """Activations of the last forward pass, layers concatenated along the unit axis."""
        missing = [self.layers[i].name for i in range(len(self.layers)) if i not in self._outputs]
        if missing:
            raise RuntimeError(f"layers not reached by the forward pass: {missing[:5]}")
        out = torch.cat([self._outputs[i] for i in range(len(self.layers))], dim=1)
        self._outputs.clear()
        return out

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


@torch.inference_mode()
def channel_counts(model: nn.Module, layers: Sequence[Layer], input_size: Sequence[int], device: torch.device) -> list[int]:
    """Units per layer, from one forward pass of a blank image."""
    recorder = ActivationRecorder(layers)
    try:
        model(torch.zeros(1, *input_size, device=device))
        counts = [recorder._outputs[i].shape[1] for i in range(len(layers))]
    finally:
        recorder.remove()
    return counts


@torch.inference_mode()
def extract_extremes(
    model: nn.Module,
    layers: Sequence[Layer],
    batches: Iterable[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
    k: int,
    n_units: int,
    device: torch.device,
    progress_total: int | None = None,
) -> Extremes:
    """Stream ``batches`` of (images, image indices, ok flags) and keep the k extremes per unit."""
    recorder = ActivationRecorder(layers)
    extremes = RunningExtremes(k, n_units, device)
    n_images = n_skipped = 0
    try:
        for images, indices, ok in tqdm(batches, total=progress_total, desc="activations", unit="batch"):
            n_images += len(indices)
            n_skipped += int((~ok).sum())
            if not ok.any():
                continue
            model(to_input(images[ok], device))
            extremes.update(recorder.collect(), indices[ok])
    finally:
        recorder.remove()
    if n_images - n_skipped < 2 * k:
        raise ValueError(
            f"only {n_images - n_skipped} readable images; the top and bottom {k} per unit must not overlap, "
            f"so at least {2 * k} are needed (lower tasks.n_tasks or tasks.n_references)"
        )
    if n_skipped:
        log.warning("skipped %d unreadable images of %d", n_skipped, n_images)
    return Extremes(
        top_idx=extremes.top_idx.cpu().numpy().astype(np.int32),
        top_val=extremes.top_val.cpu().numpy(),
        bottom_idx=extremes.bot_idx.cpu().numpy().astype(np.int32),
        bottom_val=extremes.bot_val.cpu().numpy(),
        n_images=n_images,
        n_skipped=n_skipped,
    )
