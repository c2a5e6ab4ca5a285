"""Pairwise backends: LPIPS (Zhang et al. 2018) and DISTS (Ding et al. 2020), the paper's appendix
comparison. They give a distance per image pair, so there is no embedding to cache: the task
margins Δ come from one forward pass per (query, reference) pair.

The similarity is an affine function of the distance (−LPIPS, 1 − DISTS). Δ is a signed sum of
mean similarities: the offset cancels and the slope only rescales Δ, which the fitted α absorbs, so
the choice does not change hard accuracy or the ranking of units; α must be fitted per backend.

Both packages build their backbone with torchvision's ImageNet weights (AlexNet, VGG-16 or
SqueezeNet), which torchvision reads from ``<torch.hub dir>/checkpoints/``: ``similarity.weights_dir``
is such a torch.hub folder (default: torch.hub's own, ``$TORCH_HOME/hub``). The file is checked
before the model is built and is never downloaded. The learned layer weights ship inside the packages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol
from unittest import mock

import numpy as np
import torch
import torchvision
from torch import nn
from torchvision import transforms
from torchvision.models import AlexNet_Weights, SqueezeNet1_1_Weights, VGG16_Weights, WeightsEnum
from tqdm import tqdm

from mis.datasets import ImageDataset, image_loader
from mis.models import WeightsError, package_file
from mis.similarity.weights import checkpoint_name, missing, offline_torch_hub, seeded
from mis.tasks import Tasks

# The torchvision weights each package asks for (its legacy ``pretrained=True``).
LPIPS_BACKBONES: dict[str, WeightsEnum] = {
    "alex": AlexNet_Weights.IMAGENET1K_V1,
    "vgg": VGG16_Weights.IMAGENET1K_V1,
    "squeeze": SqueezeNet1_1_Weights.IMAGENET1K_V1,
}
DISTS_BACKBONE = VGG16_Weights.IMAGENET1K_V1
TERM_SIGNS = (1.0, -1.0, -1.0, 1.0)  # Δ = s̄(q⁺,E⁺) − s̄(q⁺,E⁻) − s̄(q⁻,E⁺) + s̄(q⁻,E⁻)


class PairwiseBackend(Protocol):
    """What ``pairwise_task_margins`` needs from a backend."""

    @property
    def transform_and_size(self) -> tuple[Callable, tuple[int, ...]]:
        """The image transform (PIL image -> tensor in [0, 1]) and its output size (C, H, W)."""

    def pair_similarity(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """(P,) similarities of the image pairs (a[i], b[i]); higher means more similar."""


def square_transform(size: int) -> tuple[Callable, tuple[int, ...]]:
    """Resize to size×size (bicubic), values in [0, 1]: both packages take [0, 1] input (with
    ``normalize=True`` for LPIPS), and a fixed size lets the pairs of a unit share a batch."""
    resize = transforms.Resize((size, size), interpolation=transforms.InterpolationMode.BICUBIC)
    return transforms.Compose([resize, transforms.ToTensor()]), (3, size, size)


@dataclass
class SquareImagePairs:
    """A pairwise network on square [0, 1] images (the part LPIPS and DISTS share)."""

    model: nn.Module
    image_size: int
    device: torch.device

    @property
    def transform_and_size(self) -> tuple[Callable, tuple[int, ...]]:
        return square_transform(self.image_size)


class LpipsSimilarity(SquareImagePairs):
    """Similarity = −LPIPS distance. LPIPS is ≥ 0 (0 for identical images) with no upper bound, so
    there is no natural "1 −": negating keeps the scale and makes identical images the most similar."""

    @torch.inference_mode()
    def pair_similarity(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return -self.model(a.to(self.device), b.to(self.device), normalize=True).reshape(-1)


class DistsSimilarity(SquareImagePairs):
    """Similarity = 1 − DISTS distance. DISTS is defined as 1 minus a weighted mean (weights summing
    to 1) of structure and texture similarities that are at most 1, so 1 − DISTS is that similarity:
    1 for identical images, on the scale of a cosine."""

    @torch.inference_mode()
    def pair_similarity(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return 1 - self.model(a.to(self.device), b.to(self.device)).reshape(-1)


def build_pairwise(spec: dict[str, Any], device: torch.device) -> PairwiseBackend:
    """The pairwise backend named by the ``similarity`` config section, its backbone read from
    ``weights_dir`` (default: torch.hub's folder)."""
    weights_dir = Path(spec["weights_dir"]) if spec.get("weights_dir") else Path(torch.hub.get_dir())
    if spec["backend"] == "lpips":
        return build_lpips(spec["variant"], weights_dir, spec["image_size"], device)
    if spec["backend"] == "dists":
        return build_dists(weights_dir, spec["image_size"], device)
    raise ValueError(
        f"similarity backend '{spec['backend']}' is not pairwise (config key 'similarity.backend'); use build_embedder"
    )


def build_lpips(net: str, weights_dir: Path | None, image_size: int, device: torch.device) -> LpipsSimilarity:
    """LPIPS v0.1 on the ``net`` backbone (alex, vgg, squeeze) read from ``weights_dir``; ``None``
    gives a random (seeded) backbone, for tests. The linear layers ship with the package."""
    import lpips

    if net not in LPIPS_BACKBONES:
        raise ValueError(
            f"unknown LPIPS backbone '{net}' (config key 'similarity.variant'); choose from {list(LPIPS_BACKBONES)}"
        )
    with _backbone_source(weights_dir, LPIPS_BACKBONES[net], f"LPIPS ({net})"):
        model = lpips.LPIPS(net=net, version="0.1", pnet_rand=weights_dir is None, verbose=False)
    return LpipsSimilarity(model.eval().to(device), image_size, device)


def build_dists(weights_dir: Path | None, image_size: int, device: torch.device) -> DistsSimilarity:
    """DISTS on VGG-16 read from ``weights_dir``; ``None`` gives a random (seeded) backbone, for tests.
    Its α/β weights are read from the package folder (the package's own loader looks for them in
    ``sys.prefix``, where a venv or conda env may not have them)."""
    from DISTS_pytorch import DISTS_pt

    with _backbone_source(weights_dir, DISTS_BACKBONE, "DISTS"):
        if weights_dir is None:  # the package always asks for pretrained VGG-16: hand it torchvision's random one
            with mock.patch.object(DISTS_pt.models, "vgg16", partial(_random_vgg16, torchvision.models.vgg16)):
                model = DISTS_pt.DISTS(load_weights=False)
        else:
            model = DISTS_pt.DISTS(load_weights=False)
    weights = torch.load(package_file("DISTS_pytorch", "weights.pt"), map_location="cpu", weights_only=True)
    model.alpha.data, model.beta.data = weights["alpha"], weights["beta"]
    return DistsSimilarity(model.eval().to(device), image_size, device)


def _random_vgg16(vgg16: Callable, pretrained: bool) -> nn.Module:
    return vgg16(weights=None)


def check_weights(spec: dict[str, Any]) -> None:
    """Raise a WeightsError naming the file, unless the backbone checkpoint of the pairwise backend
    of the ``similarity`` config section is in its ``weights_dir`` (before any job needs it)."""
    weights_dir = Path(spec["weights_dir"]) if spec.get("weights_dir") else Path(torch.hub.get_dir())
    if spec["backend"] == "lpips":
        _check_backbone(weights_dir, LPIPS_BACKBONES[spec["variant"]], f"LPIPS ({spec['variant']})")
    else:
        _check_backbone(weights_dir, DISTS_BACKBONE, "DISTS")


def _check_backbone(weights_dir: Path, weights: WeightsEnum, what: str) -> None:
    relative = f"checkpoints/{checkpoint_name(weights.url)}"
    if missing(weights_dir, [(relative,)]):
        raise WeightsError(
            f"{what} needs torchvision's checkpoint {weights_dir / relative} "
            f"(config key 'similarity.weights_dir', a torch.hub folder; default $TORCH_HOME/hub). On a machine "
            f"with network, download {weights.url} and put it there."
        )


def _backbone_source(weights_dir: Path | None, weights: WeightsEnum, what: str) -> AbstractContextManager[None]:
    """Where a backbone's weights come from while the model is built: a seeded random initialisation,
    or the checked torchvision checkpoint in ``weights_dir`` with downloads refused."""
    if weights_dir is None:
        return seeded()
    _check_backbone(weights_dir, weights, what)
    return offline_torch_hub(weights_dir)


def pairwise_task_margins(
    backend: PairwiseBackend,
    tasks: Tasks,
    root: str | Path,
    paths: Sequence[str],
    batch_size: int,
    num_workers: int = 0,
) -> torch.Tensor:
    """Δ for every (unit, task), (units, N) float64, with the similarity of method.md §3 computed
    pair by pair: 4·N·K pairs per unit, in batches of ``batch_size`` pairs, from the unit's images
    loaded once through the backend's transform. Meant for small unit sets (IMI's 767 units), not
    for a whole model. A task that uses an unreadable image gets NaN, as in the embedding path."""
    margins = [
        _unit_margins(backend, tasks, unit, root, paths, batch_size, num_workers)
        for unit in tqdm(range(tasks.shape[0]), desc="pairwise margins", unit="unit")
    ]
    return torch.stack(margins)


def task_pairs(tasks: Tasks, unit: int) -> tuple[np.ndarray, np.ndarray]:
    """Image indices of every (query, reference) pair of a unit's tasks, two (4, N, K) arrays, the
    first axis in the order of the terms of Δ: (q⁺,E⁺), (q⁺,E⁻), (q⁻,E⁺), (q⁻,E⁻)."""
    max_q, min_q = tasks.max_queries[unit], tasks.min_queries[unit]
    refs = np.stack([tasks.max_refs[unit], tasks.min_refs[unit], tasks.max_refs[unit], tasks.min_refs[unit]])
    queries = np.stack([max_q, max_q, min_q, min_q])
    return np.broadcast_to(queries[..., None], refs.shape), refs


def _unit_margins(
    backend: PairwiseBackend,
    tasks: Tasks,
    unit: int,
    root: str | Path,
    paths: Sequence[str],
    batch_size: int,
    num_workers: int,
) -> torch.Tensor:
    queries, refs = task_pairs(tasks, unit)
    used, inverse = np.unique(np.concatenate([queries.ravel(), refs.ravel()]), return_inverse=True)
    images, readable = _load_images(backend, root, [paths[i] for i in used], batch_size, num_workers)
    a, b = torch.as_tensor(inverse[: queries.size]), torch.as_tensor(inverse[queries.size :])
    similarity = torch.where(
        readable[a] & readable[b], _pair_similarities(backend, images, a, b, batch_size), float("nan")
    )
    mean_similarity = similarity.reshape(refs.shape).mean(dim=-1)  # (4, N): s̄ of each term of Δ
    return (torch.tensor(TERM_SIGNS, dtype=torch.float64)[:, None] * mean_similarity).sum(dim=0)


def _pair_similarities(
    backend: PairwiseBackend, images: torch.Tensor, a: torch.Tensor, b: torch.Tensor, batch_size: int
) -> torch.Tensor:
    """Similarity of every pair (images[a[i]], images[b[i]]), float64."""
    chunks = [
        backend.pair_similarity(images[a[start : start + batch_size]], images[b[start : start + batch_size]]).cpu()
        for start in range(0, len(a), batch_size)
    ]
    return torch.cat(chunks).double()


def _load_images(
    backend: PairwiseBackend, root: str | Path, paths: list[str], batch_size: int, num_workers: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """All images of ``paths`` through the backend's transform, and a readable flag per image."""
    transform, input_size = backend.transform_and_size
    batches = list(image_loader(ImageDataset(root, paths, transform, input_size), batch_size, num_workers))
    return torch.cat([images for images, _, _ in batches]), torch.cat([ok for _, _, ok in batches])
