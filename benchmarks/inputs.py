"""The embedded default's models and photos as the pipeline sees them, shared by the benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from harness import REPO
from torch import nn

from mis.activations import probe_layers
from mis.config import load_config
from mis.datasets import ImageDataset
from mis.images import build_manifest
from mis.layers import Layer, select_layers
from mis.models import build_model, eval_transform, library_of, to_device

CPU = torch.device("cpu")


def default_config(path: Path | None = None) -> dict[str, Any]:
    """config/config.yaml (or the config at ``path``) with the schema's defaults filled in; its
    relative paths are the repository's."""
    return load_config(path or REPO / "config" / "config.yaml", REPO / "workflow" / "schemas" / "config.schema.yaml")


def model_passes(config: dict[str, Any], sae: bool = False) -> dict[str, dict[str, Any]]:
    """Every model extraction runs over the images: the configured models and, with a ``training``
    block, one pass per scored epoch (random weights here: the cost does not depend on them); with
    ``sae``, also the SAE model's two passes (``sae_passes``)."""
    passes = dict(config["models"])
    training = config.get("training")
    for epoch in (training or {}).get("epochs", []):
        spec = {"architecture": training["architecture"], "weights": {"source": "random", "seed": epoch}}
        passes[f"{training['name']}-epoch{epoch}"] = spec
    return passes | (sae_passes(config) if sae else {})


def sae_passes(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """With an ``sae`` block, the SAE model's two passes over the photos (sampling its layer's
    vectors, extracting its channels and latents), both of which end at that layer."""
    if "sae" not in config:
        return {}
    model = config["sae"]["model"]
    return {f"{model} (SAE vectors)": config["models"][model], f"{model}-sae": config["models"][model]}


def prepared(spec: dict[str, Any], layer_types: list[str]) -> tuple[nn.Module, list[Layer], int, Any, tuple]:
    """(model on the CPU in channels-last, its reached layers of interest, units, eval transform, input size)."""
    model = to_device(build_model(spec), CPU)
    transform, input_size = eval_transform(model, library_of(spec))
    probe = probe_layers(model, select_layers(model, layer_types), input_size, CPU)
    return model, probe.layers, sum(probe.counts), transform, tuple(input_size)


def photos(config: dict[str, Any], limit: int | None = None) -> tuple[Path, list[str]]:
    """The image root and the manifest's paths (the first ``limit``)."""
    images = config["images"]
    root = REPO / images["root"]
    file_list = images.get("file_list") and REPO / images["file_list"]
    paths = list(build_manifest(root, images["extensions"], file_list)["path"])
    return root, paths[:limit]


def decoded(
    root: Path, paths: list[str], transform, input_size, decoder: str = "pil"
) -> torch.utils.data.TensorDataset:
    """The photos through the project's loader, decoded once, as (image, index, readable) items: the
    timed passes then differ only in what they measure."""
    dataset = ImageDataset(root, paths, transform, input_size, decoder)
    images, indices, ok = zip(*(dataset[i] for i in range(len(dataset))))
    return torch.utils.data.TensorDataset(torch.stack(images), torch.tensor(indices), torch.tensor(ok))
