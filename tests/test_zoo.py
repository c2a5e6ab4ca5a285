"""The IMI model registry: the nine IMI models, schema-valid specs whose hub weights the libraries
know, and every architecture builds offline with units in its layers of interest."""

from __future__ import annotations

import copy
from pathlib import Path

import huggingface_hub
import pytest
import torch
import yaml

from mis import models
from mis.activations import probe_layers
from mis.config import validate_config
from mis.layers import select_layers
from mis.models import WeightsError, build_model, eval_transform, library_of
from mis.settings import DEFAULT_LAYER_TYPES
from mis.zoo import IMI_MODELS

from conftest import REPO, SCHEMA

IMI_NAMES = {
    "googlenet", "resnet50", "resnet50-l2", "clip-resnet50", "wide_resnet50",
    "densenet_201", "convnext_b", "in1k-vit_b32", "clip-vit_b32",
}  # fmt: skip
ARCHITECTURES = sorted({(library_of(spec), spec["architecture"]) for spec in IMI_MODELS.values()})
NORMS = {"batchnorm", "layernorm", "groupnorm"}


def test_registry_names_the_nine_imi_models_with_valid_specs() -> None:
    assert set(IMI_MODELS) == IMI_NAMES
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["models"] = copy.deepcopy(IMI_MODELS)
    validate_config(config, SCHEMA)


HUB_MODELS = sorted(name for name, spec in IMI_MODELS.items() if spec["weights"]["source"] == "hub")


@pytest.mark.parametrize("name", HUB_MODELS)
def test_hub_weights_are_known_to_the_library(name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Names and tags resolve up to the download (a failed probe, no network)."""
    monkeypatch.setattr(models, "host_reachable", lambda host: False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    with pytest.raises(WeightsError, match="is not reachable"):
        build_model(IMI_MODELS[name])


def test_robust_resnet_asks_for_its_checkpoint_file() -> None:
    with pytest.raises(WeightsError, match="checkpoint file not found.*resnet50_l2_eps3.ckpt"):
        build_model(IMI_MODELS["resnet50-l2"])


@pytest.mark.parametrize("library, architecture", ARCHITECTURES)
def test_every_imi_architecture_builds_offline_with_units(library: str, architecture: str) -> None:
    model = build_model({"library": library, "architecture": architecture, "weights": {"source": "random"}})
    layers = select_layers(model, DEFAULT_LAYER_TYPES)
    types = {layer.layer_type for layer in layers}
    assert "conv" in types and types & NORMS
    assert "linear" in types or architecture == "RN50"  # CLIP RN50's only Linear layers are in its attention pool
    _, input_size = eval_transform(model, library)
    reached, counts, excluded, _ = probe_layers(model, layers, input_size, torch.device("cpu"))
    assert len(counts) == len(reached) and min(counts) > 0
    assert len(reached) >= len(layers) - 12  # only weight-only Linear layers (CLIP attention) drop out
    assert all("never called" in layer.reason for layer in excluded)
