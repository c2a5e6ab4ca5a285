"""Per-unit activations, streamed: one forward pass records every layer of interest through hooks,
and running top-k trackers per unit replace storing all activations.

Per unit we keep the k highest and k lowest activating images (the task images), min and max
(constant units), and, for the harder IMI query conditions, the activation quantiles at chosen
levels with the images closest to each. Quantiles come from a systematic sample of the dataset
that the pass visits first; memory is O(units · (k + sample)), independent of the dataset size.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from mis.datasets import image_loader
from mis.layers import Layer, Layout, declared_width
from mis.models import ForwardCut, run_forward, to_input
from mis.settings import ExtractionSettings
from mis.storage import atomic_path

log = logging.getLogger(__name__)


def aggregate(output: torch.Tensor, layout: Layout) -> torch.Tensor:
    """(images, channels): each channel's mean over every other axis of the image's part of the
    output (``Layout``). (B,C,H,W) with channels on axis 1 → mean over H,W; tokens (B,T,C) or
    channels-last (B,H,W,C) with channels last → over T or H,W; (B,C) as is; Swin's windows
    (B·nW,N,C) → over the image's windows and their tokens."""
    if layout.batch_axis != 0 or layout.fold != 1:
        return layout.per_image(output).float().mean(dim=1)
    axis = layout.channel_axis % output.ndim
    reduce = [d for d in range(1, output.ndim) if d != axis]
    return output.float().mean(dim=reduce) if reduce else output.float()


# Ranking keys: an activation and an image index packed into one int64, so that one sort orders by
# activation and breaks ties by index. The upper 32 bits are the float32 bits mapped to integers of
# the same order; the lower 32 bits hold the index (or its complement, for ties to the lower index).
_LOW_BITS = 32
_LOW_MASK = (1 << _LOW_BITS) - 1
_SIGN_FREE = 0x7FFFFFFF
_HIGH_WORD = 1 if sys.byteorder == "little" else 0  # which int32 of an int64 holds its upper half


def ranking_keys(values: torch.Tensor, indices: torch.Tensor, low_index_first: bool) -> torch.Tensor:
    """Unique int64 keys, larger = ranked earlier: by ``values`` (descending), then by image index,
    ascending if ``low_index_first`` else descending. ``values`` (rows, units), ``indices`` (rows,).

    Adding 0.0 turns −0.0 into 0.0, so the two zeros tie, as they compare equal. The two 32-bit
    halves are written in place into one buffer viewed as int64 (half the passes of shifting and
    or-ing 64-bit integers; this runs on every activation of a merge)."""
    bits = (values.float() + 0.0).view(torch.int32)
    pairs = torch.empty(*bits.shape, 2, dtype=torch.int32, device=values.device)
    high, low = pairs[..., _HIGH_WORD], pairs[..., 1 - _HIGH_WORD]
    torch.bitwise_and(bits >> 31, _SIGN_FREE, out=high)
    high.bitwise_xor_(bits)
    index = indices.to(device=values.device, dtype=torch.int64)
    low.copy_((_LOW_MASK - index if low_index_first else index).to(torch.int32)[:, None])  # the low 32 bits
    return pairs.view(torch.int64).squeeze(-1)


def key_values(keys: torch.Tensor) -> torch.Tensor:
    """The float32 activations packed in ranking keys (exact)."""
    ordered = (keys >> _LOW_BITS).to(torch.int32)
    return (ordered ^ ((ordered >> 31) & _SIGN_FREE)).view(torch.float32)


def key_indices(keys: torch.Tensor, low_index_first: bool) -> torch.Tensor:
    """The image indices packed in ranking keys."""
    low = keys & _LOW_MASK
    return (_LOW_MASK - low if low_index_first else low).to(torch.int32)


class RunningTopK:
    """The k largest values per unit with their image indices, merged block by block.

    Values are ranked by one total order, (value, then image index: ascending if
    ``low_index_first``, else descending), so the result is the same whatever the pass order and
    block sizes. Tracking the top of ``values`` with ties to one end of the index range and the top
    of ``-values`` with ties to the other takes the two ends of one ranking: the most and least
    activating images are disjoint whenever there are at least 2k images. One entry beyond k is
    kept to tell whether a tie crosses the k-th rank. Once full, only the units where some new
    entry beats the current last one are merged: on a large dataset almost none after warm-up.
    """

    def __init__(self, k: int, n_units: int, device: torch.device | str = "cpu", low_index_first: bool = True):
        self.k = k
        self.low_index_first = low_index_first
        self.keys = torch.empty(0, n_units, dtype=torch.int64, device=device)

    def update(self, values: torch.Tensor, indices: torch.Tensor) -> None:
        """``values`` (rows, units) of the images ``indices`` (rows,)."""
        if len(self.keys) <= self.k:
            self.keys = self._merge(self.keys, ranking_keys(values, indices, self.low_index_first))
            return
        cols = self._entering(values, indices).any(dim=0).nonzero().squeeze(1)
        if len(cols) == values.shape[1]:
            self.keys = self._merge(self.keys, ranking_keys(values, indices, self.low_index_first))
        elif len(cols):
            keys = ranking_keys(values[:, cols], indices, self.low_index_first)
            self.keys[:, cols] = self._merge(self.keys[:, cols], keys)

    def _entering(self, values: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        """(rows, units): which new entries outrank the last kept one, tested on the float values
        (packing keys for every unit would cost more than the test); equal values by their index."""
        last = self.keys[-1]
        last_values = key_values(last)
        entering = values > last_values
        tied = values == last_values
        if tied.any():
            last_index = key_indices(last, self.low_index_first)
            index = indices.to(device=values.device, dtype=torch.int32)[:, None]
            entering |= tied & ((index < last_index) if self.low_index_first else (index > last_index))
        return entering

    def _merge(self, kept: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """The k + 1 largest keys, in descending order: keys are unique, so a partial selection gives
        exactly the head of a full sort, at about a third of its cost."""
        merged = torch.cat([kept, keys])
        return torch.topk(merged, min(self.k + 1, len(merged)), dim=0).values

    @property
    def values(self) -> torch.Tensor:
        """(k, units) values, rank 0 first."""
        return key_values(self.keys[: self.k])

    @property
    def idx(self) -> torch.Tensor:
        """(k, units) image indices, rank 0 first."""
        return key_indices(self.keys[: self.k], self.low_index_first)

    def tied_at_cut(self) -> torch.Tensor:
        """(units,) how many of the k kept images share the value of the k-th when an image left
        out has that value too (the tie-break chose among them); 0 where no tie crosses the cut."""
        if len(self.keys) <= self.k:
            return torch.zeros(self.keys.shape[1], dtype=torch.int32, device=self.keys.device)
        values = key_values(self.keys)
        last = values[self.k - 1]
        crossing = values[self.k] == last
        return ((values[: self.k] == last).sum(dim=0) * crossing).to(torch.int32)

    def state(self) -> dict[str, torch.Tensor]:
        return {"keys": self.keys.cpu()}

    def load(self, state: dict[str, torch.Tensor]) -> None:
        self.keys = state["keys"].to(self.keys.device)


def quantiles(values: torch.Tensor, probs: Sequence[float]) -> torch.Tensor:
    """Per-column quantiles with linear interpolation: (len(probs), units). Sorting once avoids
    torch.quantile's size limit on large (sample × units) matrices."""
    ordered = torch.sort(values, dim=0).values
    positions = torch.tensor(probs, dtype=torch.float64) * (len(values) - 1)
    lo, hi = positions.floor().long(), positions.ceil().long()
    weight = (positions - lo).to(values.dtype).to(values.device)[:, None]
    return ordered[lo] * (1 - weight) + ordered[hi] * weight


@dataclass
class UnitStatistics:
    """Everything kept per unit during the pass. Activations are buffered and merged every
    ``merge_rows`` images: one sort of (k + rows) entries costs far less per image than a sort per
    batch."""

    n_units: int
    k: int
    levels: Sequence[float] = ()  # upper-tail levels; the lower tail (1 − level) is mirrored
    n_near: int = 0
    device: torch.device | str = "cpu"
    merge_rows: int = 256
    thresholds: torch.Tensor | None = None  # (2·levels, units), set by calibrate()
    trackers: dict[str, RunningTopK] = field(init=False)
    non_finite: torch.Tensor = field(init=False)  # (units,): images on which the unit was NaN or ±inf
    _pending: list[tuple[torch.Tensor, torch.Tensor]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.trackers = {
            # Ties: to the higher index at the top, to the lower at the bottom (the two ends of one
            # ranking). Zeros tie at the bottom, and a pass in index order then never merges them.
            "top": RunningTopK(self.k, self.n_units, self.device, low_index_first=False),
            "bottom": RunningTopK(self.k, self.n_units, self.device),
        }
        for i in range(2 * len(self.levels)):
            self.trackers[f"near{i}"] = RunningTopK(self.n_near, self.n_units, self.device)
        self.non_finite = torch.zeros(self.n_units, dtype=torch.int64, device=self.device)

    @property
    def probs(self) -> list[float]:
        return [*self.levels, *(round(1 - level, 12) for level in self.levels)]

    def update(self, values: torch.Tensor, indices: torch.Tensor) -> None:
        """Activations (images, units) of the images ``indices``, in pass order."""
        self._pending.append((values, indices))
        if sum(len(i) for _, i in self._pending) >= self.merge_rows:
            self.flush()

    def flush(self) -> None:
        """Merge the buffered activations into every tracker."""
        if not self._pending:
            return
        values = torch.cat([v for v, _ in self._pending])
        indices = torch.cat([i for _, i in self._pending])
        self._pending.clear()
        self.non_finite += (~torch.isfinite(values)).sum(dim=0)
        self.trackers["top"].update(values, indices)
        self.trackers["bottom"].update(-values, indices)
        if self.thresholds is not None:
            self._update_near(values, indices)

    def _update_near(self, values: torch.Tensor, indices: torch.Tensor) -> None:
        for i, threshold in enumerate(self.thresholds):
            self.trackers[f"near{i}"].update(-(values - threshold).abs(), indices)

    def calibrate(self, sample: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> None:
        """Set the quantile thresholds from the sample's (activations, indices) blocks, already
        passed to ``update``, and give the sample to the near-quantile trackers."""
        self.flush()
        self.thresholds = quantiles(torch.cat([v for v, _ in sample]), self.probs)
        for values, indices in sample:
            self._update_near(values, indices)

    def state(self) -> dict[str, Any]:
        self.flush()
        thresholds = None if self.thresholds is None else self.thresholds.cpu()
        trackers = {name: t.state() for name, t in self.trackers.items()}
        return {"thresholds": thresholds, "non_finite": self.non_finite.cpu(), **trackers}

    def load(self, state: dict[str, Any]) -> None:
        self.thresholds = None if state["thresholds"] is None else state["thresholds"].to(self.device)
        self.non_finite = state["non_finite"].to(self.device)
        for name, tracker in self.trackers.items():
            tracker.load(state[name])


@dataclass
class Extremes:
    """Result of a pass over the dataset. Arrays are (k, units), rank 0 the most extreme; the
    quantile arrays have one row per probability of ``quantile_probs``."""

    top_idx: np.ndarray
    top_val: np.ndarray
    bottom_idx: np.ndarray
    bottom_val: np.ndarray
    quantile_probs: np.ndarray  # (Q,)
    quantile_val: np.ndarray  # (Q, units)
    near_idx: np.ndarray  # (Q, n_near, units): images closest to each quantile
    top_ties: np.ndarray  # (units,) kept images in a tie that crosses the k-th rank (RunningTopK.tied_at_cut)
    bottom_ties: np.ndarray  # (units,)
    non_finite: np.ndarray  # (units,) images on which the unit was NaN or ±inf: such a unit is not scored
    n_images: int
    n_skipped: int

    @property
    def value_range(self) -> np.ndarray:
        """max − min activation per unit over the dataset."""
        return self.top_val[0] - self.bottom_val[0]

    @classmethod
    def from_statistics(cls, stats: UnitStatistics, n_images: int, n_skipped: int) -> Extremes:
        stats.flush()
        top, bottom = stats.trackers["top"], stats.trackers["bottom"]
        n_quantiles = len(stats.probs)
        near = [stats.trackers[f"near{i}"].idx for i in range(n_quantiles)]
        return cls(
            top_idx=top.idx.cpu().numpy(),
            top_val=top.values.cpu().numpy(),
            bottom_idx=bottom.idx.cpu().numpy(),
            bottom_val=-bottom.values.cpu().numpy(),
            quantile_probs=np.array(stats.probs, dtype=np.float64),
            quantile_val=(stats.thresholds.cpu().numpy() if n_quantiles else np.zeros((0, stats.n_units), np.float32)),
            near_idx=(torch.stack(near).cpu().numpy() if n_quantiles else np.zeros((0, 0, stats.n_units), np.int32)),
            top_ties=top.tied_at_cut().cpu().numpy(),
            bottom_ties=bottom.tied_at_cut().cpu().numpy(),
            non_finite=stats.non_finite.cpu().numpy(),
            n_images=n_images,
            n_skipped=n_skipped,
        )


class ActivationRecorder:
    """Forward hooks that write each layer's aggregated activations into one (B, units) buffer.

    With ``cut``, passes end at the last layer of interest (``ForwardCut``; run them with
    ``mis.models.run_forward``): a model scored on its early layers only, as an SAE's layer or one
    layer through the API, does not compute the rest. The first pass runs whole and shows the
    order; the cut is used only if every layer ran exactly once in it (a module called twice keeps
    its last call, which a cut could skip).
    """

    def __init__(self, layers: Sequence[Layer], cut: bool = False):
        self.layers = list(layers)
        self._outputs: dict[int, torch.Tensor] = {}
        self._ran: list[int] = []  # layer indices in the order their hooks ran in this pass
        self._learn_cut = cut
        self._cut_after: int | None = None
        self._handles = [
            layer.module.register_forward_hook(self._hook(i, layer.layout or Layout(layer.channel_axis), layer.readout))
            for i, layer in enumerate(self.layers)
        ]

    def _hook(self, i: int, layout: Layout, readout: Callable[[torch.Tensor, int], torch.Tensor] | None):
        def hook(module: nn.Module, inputs, output) -> None:
            if readout is not None:
                output = readout(output, layout.channel_axis)
            self._outputs[i] = aggregate(output, layout)
            self._ran.append(i)
            if i == self._cut_after:
                raise ForwardCut

        return hook

    def collect(self) -> torch.Tensor:
        """Activations of the last forward pass, layers concatenated along the unit axis."""
        missing = [self.layers[i].name for i in range(len(self.layers)) if i not in self._outputs]
        if missing:
            raise RuntimeError(f"layers not reached by the forward pass: {missing[:5]}")
        if self._learn_cut:
            self._learn_cut = False
            if sorted(self._ran) == list(range(len(self.layers))):
                self._cut_after = self._ran[-1]
        self._ran.clear()
        out = torch.cat([self._outputs[i] for i in range(len(self.layers))], dim=1)
        self._outputs.clear()
        return out

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


@dataclass(frozen=True)
class Excluded:
    """A layer of interest that is not scored, and why."""

    name: str
    module_class: str
    kind: str  # never_called, not_a_tensor, same_for_every_image, no_image_axis, no_width_axis
    reason: str


class Probe(NamedTuple):
    layers: list[Layer]  # with their layouts
    counts: list[int]  # units per layer
    excluded: list[Excluded]
    # An image's outputs depend on the other images of its batch (GCViT's global queries are tiled
    # over the windows of all images of a batch, in timm as in the original code): score it with
    # batches of one image, where the model's response to an image is its own.
    mixes_images: bool = False


NEVER_CALLED = (
    "never called by the forward pass: the model uses it by weight only (e.g. nn.MultiheadAttention's "
    "out_proj, or a fused qkv that BEiT, EVA-02 and SwinV2 apply with F.linear to its weight), so it has no output"
)
_UNCALLED = (None, "never_called", NEVER_CALLED)  # a never-called layer's ``_layout``


@torch.inference_mode()
def probe_layers(model: nn.Module, layers: Sequence[Layer], input_size: Sequence[int], device: torch.device) -> Probe:
    """Each layer's layout and unit count, from its outputs for one image and for two distinct
    ones (seeded noise): the axis that grows with the number of images holds them (image-major,
    with any windows, patches or heads of an image folded in), and the axis of the module's width
    (``declared_width``) its channels. Layers that cannot be scored are excluded with the reason,
    and logged: never called; an output that does not grow with the number of images (a table of
    positions or relative-position biases, the same for every image); one with no axis of the
    module's width. Where the first image's units differ between two pairs that share it, the
    model mixes the images of a batch (``Probe.mixes_images``): pairs of the same size run the same
    kernels, so without mixing they are the same to the last bits, whereas a pair's outputs and one
    image's differ by rounding that grows with depth (0.1 % of a layer's largest value in deep
    random-init EfficientNetV2 and MaxViT, against 27 % where GCViT mixes).

    The hooks keep an output's shape, or the first image's units (``aggregate``, as the pass
    scores them), never the output itself: kept for every layer, the outputs of EfficientNet-L2 at
    475 px or MaxViT-XL at 512 px do not fit in 24 GiB."""
    images = torch.randn(3, *input_size, generator=torch.Generator().manual_seed(0)).to(device)
    one = _record(model, layers, images[:1], lambda i, output: _shape(output))
    layouts: dict[int, tuple[Layout | None, str, str]] = {}

    def first_units_of_pair(i: int, output: Any) -> torch.Tensor | None:
        layouts[i] = _layout(layers[i], one[i], _shape(output)) if i in one else _UNCALLED
        return _first_units(layers[i], layouts[i][0], output)

    pair = _record(model, layers, images[:2], first_units_of_pair)
    other_pair = _record(
        model, layers, images[[0, 2]], lambda i, output: _first_units(layers[i], layouts[i][0], output)
    )
    found, counts, excluded, mixes = [], [], [], False
    for i, layer in enumerate(layers):
        layout, kind, reason = layouts.get(i, _UNCALLED)
        if layout is not None and pair.get(i) is not None:
            mixes = mixes or not _same_units(pair[i], other_pair.get(i))
            found.append(replace(layer, layout=layout))
            counts.append(len(pair[i]))
        else:
            excluded.append(Excluded(layer.name, type(layer.module).__name__, kind, reason))
    for layer in excluded:
        log.warning("layer %s (%s) is not scored: %s", layer.name, layer.module_class, layer.reason)
    if not found:
        raise ValueError("no selected layer is reached by the forward pass, or none can be scored")
    if mixes:
        log.warning("an image's activations depend on the other images of its batch: it is scored in batches of one")
    return Probe(found, counts, excluded, mixes)


def _record(model: nn.Module, layers: Sequence[Layer], images: torch.Tensor, keep: Callable[[int, Any], Any]):
    """``keep(i, output)`` of each layer's output in a forward pass of ``images`` (its last call's)."""
    kept: dict[int, Any] = {}
    handles = [
        layer.module.register_forward_hook(lambda module, inputs, output, i=i: kept.__setitem__(i, keep(i, output)))
        for i, layer in enumerate(layers)
    ]
    try:
        model(images)
    finally:
        for handle in handles:
            handle.remove()
    return kept


def _shape(output: Any) -> torch.Size | str:
    """A tensor output's shape, or the type name of another output."""
    return output.shape if isinstance(output, torch.Tensor) else type(output).__name__


def _first_units(layer: Layer, layout: Layout | None, output: Any) -> torch.Tensor | None:
    """The first image's units in ``output`` (its dictionary's, with a readout), as a pass scores them."""
    if layout is None or not isinstance(output, torch.Tensor):
        return None
    first = output.narrow(layout.batch_axis, 0, layout.fold)
    if layer.readout is not None:
        first = layer.readout(first, layout.channel_axis)
    return aggregate(first, layout)[0]


def _same_units(units: torch.Tensor, other: torch.Tensor | None) -> bool:
    """Whether one image's units are the same (up to rounding) in two passes."""
    if other is None or other.shape != units.shape:
        return False
    scale = float(units.abs().nan_to_num().max()) or 1.0
    return torch.allclose(units, other, rtol=1e-3, atol=1e-4 * scale, equal_nan=True)


def _layout(layer: Layer, one: torch.Size | str, two: torch.Size | str) -> tuple[Layout | None, str, str]:
    """The layout of a layer's output from its shapes for one image and two (``_shape``), or why it
    has none (a kind, and the reason in words)."""
    if isinstance(one, str) or isinstance(two, str):
        return None, "not_a_tensor", f"its output is a {one if isinstance(one, str) else two}, not a tensor"
    if one == two:
        return (
            None,
            "same_for_every_image",
            (
                f"its output, of shape {tuple(one)}, does not grow with the number of images: it is the same "
                "for every image (a table of positions or of relative-position biases), not a unit's response"
            ),
        )
    grown = [d for d in range(len(one)) if len(one) == len(two) and two[d] == 2 * one[d]]
    others_equal = len(grown) == 1 and all(one[d] == two[d] for d in range(len(one)) if d != grown[0])
    if not others_equal:
        shapes = f"for one image {tuple(one)} and two {tuple(two)}"
        return None, "no_image_axis", f"its output's shape {shapes} has no axis of the images"
    batch, fold = grown[0], one[grown[0]]
    width = declared_width(layer.module)
    default = layer.channel_axis % len(one)
    candidates = [d for d in range(len(one)) if d != batch and (width is None or one[d] == width)]
    if width is None:
        candidates = [default] if default != batch else []
    if not candidates:
        return (
            None,
            "no_width_axis",
            f"its output of shape {tuple(one)} has no axis of the module's width {width}",
        )
    channel = default if default in candidates else candidates[0]
    return Layout(channel_axis=channel, batch_axis=batch, fold=fold), "", ""


def pass_order(n_images: int, sample_size: int) -> tuple[np.ndarray, int]:
    """Image order of the pass: a systematic sample (evenly spaced indices, so every class of a
    sorted class-folder tree is represented) first, then the remaining images in index order."""
    if sample_size <= 0:
        return np.arange(n_images), 0
    sample = np.unique(np.linspace(0, n_images - 1, min(sample_size, n_images)).round().astype(np.int64))
    rest = np.setdiff1d(np.arange(n_images), sample, assume_unique=True)
    return np.concatenate([sample, rest]), len(sample)


@torch.inference_mode()
def extract_extremes(
    model: nn.Module,
    layers: Sequence[Layer],
    dataset: torch.utils.data.Dataset,
    n_units: int,
    device: torch.device,
    settings: ExtractionSettings,
    checkpoint: str | os.PathLike | None = None,
    signature: dict[str, Any] | None = None,
) -> Extremes:
    """One pass over ``dataset`` (items: image tensor, image index, readable flag).

    With ``checkpoint``, the state is saved every ``settings.checkpoint_every`` batches after the
    quantile sample, and a later call with the same ``signature`` resumes from it; the file is
    removed once the pass is complete.
    """
    order, n_sample = pass_order(len(dataset), settings.quantile_sample if settings.levels else 0)
    stats = UnitStatistics(n_units, settings.k, settings.levels, settings.n_near, device)
    recorder = ActivationRecorder(layers, cut=True)
    position, n_skipped = 0, 0
    resumed = _load_checkpoint(checkpoint, signature)
    if resumed is not None:
        position, n_skipped = resumed["position"], resumed["n_skipped"]
        stats.load(resumed["stats"])
        log.info("resuming from %s at image %d of %d", checkpoint, position, len(order))
    progress = tqdm(total=len(order), initial=position, desc="activations", unit="img")
    sample: list[tuple[torch.Tensor, torch.Tensor]] = []
    try:
        for phase_end in (n_sample, len(order)):
            if position >= phase_end:
                continue
            subset = torch.utils.data.Subset(dataset, order[position:phase_end].tolist())
            for n_batch, (images, indices, ok) in enumerate(
                image_loader(subset, settings.batch_size, settings.num_workers), 1
            ):
                position += len(indices)
                n_skipped += int((~ok).sum())
                progress.update(len(indices))
                if ok.any():
                    run_forward(model, to_input(images[ok], device))
                    values = recorder.collect()
                    stats.update(values, indices[ok])
                    if position <= n_sample:
                        sample.append((values, indices[ok]))
                if checkpoint and position > n_sample and n_batch % settings.checkpoint_every == 0:
                    _save_checkpoint(checkpoint, signature, position, n_skipped, stats)
            if sample:
                stats.calibrate(sample)
                sample.clear()
    finally:
        recorder.remove()
        progress.close()
    n_readable = len(order) - n_skipped
    if n_readable < 2 * settings.k:
        raise ValueError(
            f"only {n_readable} readable images; the top and bottom {settings.k} per unit must not overlap, "
            f"so at least {2 * settings.k} are needed (lower tasks.n_tasks or tasks.n_refs)"
        )
    if n_skipped:
        log.warning("skipped %d unreadable images of %d", n_skipped, len(order))
    if checkpoint:
        Path(checkpoint).unlink(missing_ok=True)
    return Extremes.from_statistics(stats, len(order), n_skipped)


# Bumped whenever the trackers' state changes shape, so that an older checkpoint is not resumed.
STATE_FORMAT = 3


def _save_checkpoint(path, signature, position: int, n_skipped: int, stats: UnitStatistics) -> None:
    state = {"format": STATE_FORMAT, "signature": signature, "position": position, "n_skipped": n_skipped}
    with atomic_path(path) as tmp:
        torch.save({**state, "stats": stats.state()}, tmp)


def _load_checkpoint(path, signature) -> dict[str, Any] | None:
    """A checkpoint of the same run (same signature and state format), or None: a checkpoint that
    cannot be read is logged and the pass starts over."""
    if not path or not Path(path).is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable checkpoint means: start over
        log.warning("ignoring unreadable checkpoint %s: %s", path, error)
        return None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT or state.get("signature") != signature:
        log.warning("ignoring checkpoint %s: it belongs to another configuration or version", path)
        return None
    return state
