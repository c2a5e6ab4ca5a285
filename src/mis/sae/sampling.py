"""Activation vectors to train a dictionary on: one pass over the images, a seeded random subset of
every position vector (spatial position or token) of one layer, in bounded memory."""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from mis.datasets import image_loader
from mis.layers import Layer, Layout
from mis.models import ForwardCut, run_forward, to_input

log = logging.getLogger(__name__)


@torch.inference_mode()
def sample_vectors(
    model: nn.Module,
    layer: Layer,
    dataset: torch.utils.data.Dataset,
    n_vectors: int,
    seed: int,
    device: torch.device,
    batch_size: int = 32,
    num_workers: int = 0,
) -> torch.Tensor:
    """(n, C) activation vectors of ``layer``: a uniform sample without replacement of all position
    vectors of all readable images (items: image, index, readable flag), n = ``n_vectors`` or all
    if there are fewer. Every position gets a random key from a generator seeded by ``seed`` and its
    image index, and the ``n_vectors`` smallest keys are kept as the pass goes: the sample depends
    on neither batch size nor pass order, and memory is O(n_vectors · C). Rows in key order (a
    random order)."""
    kept = torch.empty(0, dtype=torch.float64)
    vectors = torch.empty(0)
    captured: list[torch.Tensor] = []

    def hook(module: nn.Module, inputs, output: torch.Tensor) -> None:
        captured.append((layer.layout or Layout(layer.channel_axis)).per_image(output).float().cpu())
        raise ForwardCut  # the rest of the model is not needed

    handle = layer.module.register_forward_hook(hook)
    try:
        for images, indices, ok in tqdm(
            image_loader(dataset, batch_size, num_workers), desc="sample vectors", unit="batch"
        ):
            if not ok.any():
                continue
            run_forward(model, to_input(images[ok], device))
            per_image = captured.pop()  # (images, positions, C)
            keys = torch.from_numpy(
                np.stack(
                    [np.random.default_rng([seed, int(index)]).random(per_image.shape[1]) for index in indices[ok]]
                )
            )
            keys, vectors = torch.cat([kept, keys.flatten()]), torch.cat([vectors, per_image.flatten(0, 1)])
            kept, chosen = torch.topk(keys, min(n_vectors, len(keys)), largest=False)
            vectors = vectors[chosen]
    finally:
        handle.remove()
    if len(vectors) < n_vectors:
        log.warning(
            "layer %s has %d position vectors in all, fewer than the %d asked for", layer.name, len(vectors), n_vectors
        )
    return vectors
