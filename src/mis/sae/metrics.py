"""How good a dictionary is, per dictionary, over an image set, in one pass for several of them.

Sparsity and reconstruction on every position vector of the layer (spatial position or token):
- ``l0``: mean number of active (non-zero) latents per vector;
- ``dead``: latents never active on any of those vectors (``dead_fraction`` of ``n_latents``);
- ``fvu``: fraction of variance unexplained, Σ‖x − x̂‖² / Σ‖x − x̄‖² (x̄ the mean vector).
Model fidelity, with the layer's output replaced by its reconstruction (a forward hook):
- ``top1_agreement``: fraction of images whose top-1 class is the original model's;
- ``kl``: mean KL(original ‖ patched) of the output distributions (softmax of the logits), in nats.
A dictionary without a decoder (any learned basis, e.g. a linear probe) gets L0 and dead latents
only: its ``fvu``, ``top1_agreement`` and ``kl`` are NaN.
Written here rather than taken from overcomplete: its ``r2_score`` centres on one global mean, not
per channel, and its ``dead_codes`` tests the sum of the codes, which a linear dictionary's signed
latents can cancel.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from mis.datasets import image_loader
from mis.layers import Layer
from mis.models import to_input
from mis.sae.dictionary import Dictionary

METRIC_COLUMNS = [
    "dictionary",
    "n_latents",
    "l0",
    "dead",
    "dead_fraction",
    "fvu",
    "top1_agreement",
    "kl",
    "n_vectors",
    "n_images",
]


class _Totals:
    """Running sums of one dictionary's metrics."""

    def __init__(self, n_latents: int, device: torch.device):
        self.active_count = torch.zeros((), dtype=torch.float64, device=device)
        self.alive = torch.zeros(n_latents, dtype=torch.bool, device=device)
        self.squared_error = torch.zeros((), dtype=torch.float64, device=device)
        self.agreeing = 0
        self.kl = torch.zeros((), dtype=torch.float64, device=device)

    def add_vectors(self, dictionary: Dictionary, x: torch.Tensor) -> None:
        latents = dictionary.encode(x)
        active = latents != 0
        self.active_count += active.sum()
        self.alive |= active.any(dim=0)
        if dictionary.W_dec is not None:
            self.squared_error += (x - dictionary.decode(latents)).double().square().sum()

    def add_outputs(self, original: torch.Tensor, patched: torch.Tensor) -> None:
        """Log-probabilities (images, classes) of the original and the patched model."""
        self.agreeing += int((original.argmax(1) == patched.argmax(1)).sum())
        self.kl += (original.exp() * (original - patched)).sum().double()


@torch.inference_mode()
def evaluate_dictionaries(
    model: nn.Module,
    layer: Layer,
    dictionaries: Mapping[str, Dictionary],
    dataset: torch.utils.data.Dataset,
    device: torch.device,
    batch_size: int = 32,
    num_workers: int = 0,
) -> pd.DataFrame:
    """One row per dictionary (columns ``METRIC_COLUMNS``, see the module docstring) over the
    readable images of ``dataset`` (items: image, index, readable flag). ``model`` must return
    logits (images, classes); each batch runs once as is and once per dictionary patched."""
    axis = layer.channel_axis
    totals = {name: _Totals(dictionary.n_latents, device) for name, dictionary in dictionaries.items()}
    sums = {"n": 0, "x": 0.0, "x2": 0.0}
    patch: list[Dictionary] = []  # the dictionary replacing the layer's output, if any

    def hook(module: nn.Module, inputs, output: torch.Tensor) -> torch.Tensor | None:
        if patch:
            return patch[0].reconstruct(output, axis)
        x = output.movedim(axis, -1).reshape(-1, output.shape[axis]).float()
        sums["n"] += len(x)
        sums["x"] = sums["x"] + x.double().sum(dim=0)
        sums["x2"] += float(x.double().square().sum())
        for name, dictionary in dictionaries.items():
            totals[name].add_vectors(dictionary, x)
        return None

    reconstructing = {name: dictionary for name, dictionary in dictionaries.items() if dictionary.W_dec is not None}
    n_images = 0
    handle = layer.module.register_forward_hook(hook)
    try:
        for images, _, ok in tqdm(
            image_loader(dataset, batch_size, num_workers), desc="dictionary metrics", unit="batch"
        ):
            if not ok.any():
                continue
            inputs = to_input(images[ok], device)
            original = _log_probabilities(model(inputs))
            n_images += len(original)
            for name, dictionary in reconstructing.items():
                patch.append(dictionary)
                try:
                    totals[name].add_outputs(original, _log_probabilities(model(inputs)))
                finally:
                    patch.clear()
    finally:
        handle.remove()
    if not n_images:
        raise ValueError("no readable image: the dictionaries cannot be evaluated")
    variance = sums["x2"] - float(sums["x"].square().sum()) / sums["n"]  # Σ‖x − x̄‖²
    nan = float("nan")
    return pd.DataFrame(
        [
            {
                "dictionary": name,
                "n_latents": dictionary.n_latents,
                "l0": float(totals[name].active_count) / sums["n"],
                "dead": int((~totals[name].alive).sum()),
                "dead_fraction": float((~totals[name].alive).float().mean()),
                "fvu": float(totals[name].squared_error) / variance if variance > 0 and name in reconstructing else nan,
                "top1_agreement": totals[name].agreeing / n_images if name in reconstructing else nan,
                "kl": float(totals[name].kl) / n_images if name in reconstructing else nan,
                "n_vectors": sums["n"],
                "n_images": n_images,
            }
            for name, dictionary in dictionaries.items()
        ],
        columns=METRIC_COLUMNS,
    )


def _log_probabilities(logits: torch.Tensor) -> torch.Tensor:
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2:
        raise ValueError("model fidelity needs a classifier: the model must return logits (images, classes)")
    return torch.log_softmax(logits.float(), dim=1)
