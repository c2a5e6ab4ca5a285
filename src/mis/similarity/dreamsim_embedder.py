"""DreamSim (Fu et al. 2023) embeddings, the paper's similarity, from a local weights folder.

Similarity = cosine of the normalised embeddings = 1 − DreamSim distance. Preprocessing: resize to
224×224 (bicubic), values in [0, 1]; the model normalises per backbone itself.

``similarity.weights_dir`` is what ``dreamsim`` calls ``cache_dir``: the unzipped release
checkpoint of the variant, plus what dreamsim fetches through torch.hub into the same folder for
DINO backbones (the facebookresearch repository and its ViT checkpoint). On a machine with network,

    python -c "from dreamsim import dreamsim; dreamsim(pretrained=True, device='cpu', cache_dir='dreamsim-weights')"

fills a folder for the default ``ensemble`` variant; copy it to ``weights_dir``. The files are
checked before anything is built; a missing one is an error that lists what to put where.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import torch
from torch import nn

from mis.models import WeightsError
from mis.similarity.embedding import normalise
from mis.similarity.pairwise import square_transform
from mis.similarity.weights import checkpoint_name, missing, offline_torch_hub, seeded

IMAGE_SIZE = 224
CLIP_EMBED_DIM = 512  # the ViT-B CLIP/OpenCLIP image projection
RELEASES = "https://github.com/ssundaram21/dreamsim/releases/download"
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")


@dataclass(frozen=True)
class HubBackbone:
    """A backbone dreamsim loads with ``torch.hub.load``: the repository (as dreamsim names it),
    the folder torch.hub caches it in, and the checkpoint its hubconf fetches."""

    repo: str
    folder: str
    checkpoint_url: str


@dataclass(frozen=True)
class Variant:
    """A DreamSim variant: the release holding its zip, the checkpoints in the zip, its LoRA adapter
    folder, and its torch.hub backbone (DINO variants only)."""

    release: str
    checkpoints: tuple[str, ...]
    adapter: str
    hub: HubBackbone | None = None


DINO = HubBackbone(
    "facebookresearch/dino:main",
    "facebookresearch_dino_main",
    "https://dl.fbaipublicfiles.com/dino/dino_vitbase16_pretrain/dino_vitbase16_pretrain.pth",
)
DINOV2 = HubBackbone(
    "facebookresearch/dinov2",
    "facebookresearch_dinov2_main",
    "https://dl.fbaipublicfiles.com/dinov2/dinov2_vitb14/dinov2_vitb14_pretrain.pth",
)
V020, V021 = "v0.2.0-checkpoints", "v0.2.1-checkpoints"
ENSEMBLE_CHECKPOINTS = ("dino_vitb16_pretrain.pth", "clip_vitb16_pretrain.pth.tar", "open_clip_vitb16_pretrain.pth.tar")
VARIANTS = {
    "ensemble": Variant(V020, ENSEMBLE_CHECKPOINTS, "ensemble_lora", DINO),
    "dino_vitb16": Variant(V020, ("dino_vitb16_pretrain.pth",), "dino_vitb16_single_lora", DINO),
    "clip_vitb32": Variant(V020, ("clip_vitb32_pretrain.pth.tar",), "clip_vitb32_single_lora"),
    "open_clip_vitb32": Variant(V020, ("open_clip_vitb32_pretrain.pth.tar",), "open_clip_vitb32_single_lora"),
    "dinov2_vitb14": Variant(V021, ("dinov2_vitb14_pretrain.pth",), "dinov2_vitb14_single_lora", DINOV2),
    "synclr_vitb16": Variant(V021, ("synclr_vit_b_16.pth",), "synclr_vitb16_single_lora"),
    "dino_vitb16_patch": Variant(V021, ("dino_vitb16_pretrain.pth",), "dino_vitb16_patch_lora", DINO),
    "dinov2_vitb14_patch": Variant(V021, ("dinov2_vitb14_pretrain.pth",), "dinov2_vitb14_patch_lora", DINOV2),
}


def release_url(variant: str) -> str:
    """Where dreamsim downloads the variant's checkpoint zip from."""
    return f"{RELEASES}/{VARIANTS[variant].release}/dreamsim_{variant}_checkpoint.zip"


@dataclass
class DreamSimEmbedder:
    """DreamSim embeddings as unit-norm rows, so that their dot product is 1 − DreamSim distance."""

    model: nn.Module
    device: torch.device

    @property
    def transform_and_size(self) -> tuple[Callable, tuple[int, ...]]:
        """DreamSim's preprocessing: 224×224 bicubic resize, values in [0, 1]."""
        return square_transform(IMAGE_SIZE)

    @torch.inference_mode()
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        embedding = self.model.embed(images.to(self.device))
        if embedding.ndim == 3:  # patch variants, (B, tokens, D): DreamSim compares CLS ‖ mean of the patch tokens
            embedding = torch.cat([embedding[:, 0], embedding[:, 1:].mean(dim=1)], dim=-1)
        return normalise(embedding)


def build_dreamsim(variant: str, weights_dir: Path | None, device: torch.device) -> DreamSimEmbedder:
    """The DreamSim ``variant`` with the weights in ``weights_dir``; ``None`` builds the architecture
    with random weights and no LoRA adapter (for tests: no files needed)."""
    if variant not in VARIANTS:
        raise ValueError(
            f"unknown DreamSim variant '{variant}' (config key 'similarity.variant'); choose from {list(VARIANTS)}"
        )
    if weights_dir is None:
        return DreamSimEmbedder(_random_dreamsim(variant, device), device)
    check_weights_dir(variant, weights_dir)
    return DreamSimEmbedder(_pretrained_dreamsim(variant, weights_dir, device), device)


def build_from_spec(spec: dict[str, Any], device: torch.device) -> DreamSimEmbedder:
    """The ``dreamsim`` backend of the ``similarity`` config section (``mis.similarity.backends``)."""
    return build_dreamsim(spec["variant"], Path(spec["weights_dir"]), device)


def check_spec(spec: dict[str, Any]) -> None:
    """Its weights folder holds every file the variant needs (``check_weights_dir``)."""
    if spec["variant"] not in VARIANTS:
        raise ValueError(f"unknown DreamSim variant '{spec['variant']}' (config key 'similarity.variant')")
    check_weights_dir(spec["variant"], Path(spec["weights_dir"]))


def required_files(variant: str) -> list[tuple[str, ...]]:
    """Files ``weights_dir`` must hold for ``variant`` (each a tuple of alternatives)."""
    spec = VARIANTS[variant]
    files = [(name,) for name in spec.checkpoints]
    files += [(f"{spec.adapter}/adapter_config.json",), tuple(f"{spec.adapter}/{name}" for name in ADAPTER_WEIGHTS)]
    if spec.hub:
        files += [(f"{spec.hub.folder}/hubconf.py",), (f"checkpoints/{checkpoint_name(spec.hub.checkpoint_url)}",)]
    return files


def check_weights_dir(variant: str, weights_dir: Path) -> None:
    """Raise a WeightsError that says what to put where unless every file the variant needs is
    there, so that dreamsim never reaches its download code."""
    absent = missing(weights_dir, required_files(variant))
    if not absent:
        return
    problem = "is incomplete" if weights_dir.is_dir() else "does not exist"
    raise WeightsError(
        f"DreamSim weights folder {weights_dir} {problem} (config key 'similarity.weights_dir', variant "
        f"'{variant}'); missing: {', '.join(absent)}. {_how_to_fill(variant)}"
    )


def _how_to_fill(variant: str) -> str:
    spec = VARIANTS[variant]
    base, patch = variant.removesuffix("_patch"), variant.endswith("_patch")
    text = (
        'On a machine with network, run `python -c "from dreamsim import dreamsim; dreamsim(pretrained=True, '
        f"device='cpu', cache_dir='dreamsim-weights', dreamsim_type='{base}', use_patch_model={patch})\"` and copy "
        f"the folder dreamsim-weights here; it unzips {release_url(variant)} into the folder"
    )
    if spec.hub:
        repo, url = spec.hub.repo.split(":")[0], spec.hub.checkpoint_url
        text += (
            f" and, through torch.hub, adds the repository github.com/{repo} as {spec.hub.folder}/ and {url} "
            f"as checkpoints/{checkpoint_name(url)}"
        )
    return text + "."


def _pretrained_dreamsim(variant: str, weights_dir: Path, device: torch.device) -> nn.Module:
    """dreamsim's own loader on a checked folder. dreamsim calls ``torch.hub.load`` for DINO
    backbones, which for DINOv2 first asks GitHub for the default branch: the call is sent to the
    repository copy in the folder instead (``source='local'``)."""
    from dreamsim import dreamsim

    local_load = _local_hub_load(weights_dir, torch.hub.load)
    with offline_torch_hub(weights_dir), mock.patch.object(torch.hub, "load", local_load):
        model, _ = dreamsim(
            pretrained=True,
            device=str(device),
            cache_dir=str(weights_dir),
            normalize_embeds=True,
            dreamsim_type=variant.removesuffix("_patch"),
            use_patch_model=variant.endswith("_patch"),
        )
    return model


def _local_hub_load(weights_dir: Path, load: Callable) -> Callable:
    """``load`` (torch.hub.load) redirected from a GitHub repository to its copy in ``weights_dir``."""
    folders = {hub.repo: hub.folder for hub in (DINO, DINOV2)}

    def local_load(repo: str, model: str, *args, **kwargs) -> nn.Module:
        if repo not in folders:
            raise WeightsError(f"dreamsim asked torch.hub for '{repo}', which has no local copy in {weights_dir}")
        return load(str(weights_dir / folders[repo]), model, *args, source="local", **kwargs)

    return local_load


def _random_dreamsim(variant: str, device: torch.device) -> nn.Module:
    """dreamsim's PerceptualModel for ``variant`` with randomly initialised (seeded) backbones."""
    from dreamsim.config import dreamsim_args
    from dreamsim.feature_extraction.extractor import ViTExtractor
    from dreamsim.model import PerceptualModel

    with seeded(), mock.patch.object(ViTExtractor, "create_model", staticmethod(_random_backbone)):
        model = PerceptualModel(**dreamsim_args["model_config"][variant], device=str(device), normalize_embeds=True)
    return model.eval().requires_grad_(False)


def _random_backbone(model_type: str, load_dir: str) -> nn.Module | tuple[nn.Module, torch.Tensor]:
    """Stands in for ``ViTExtractor.create_model``, which loads files: the ViT-B dreamsim uses for
    ``model_type`` (its own DINO-style ViT), with a random image projection for CLIP models. CLIP's
    weight conversion (pre-LayerNorm, QuickGELU) is left out: it changes no shape."""
    from dreamsim.feature_extraction.vision_transformer import vit_base

    if "dinov2" in model_type:
        raise WeightsError(f"no random-weight '{model_type}': its architecture comes from the dinov2 repository")
    vit = vit_base(patch_size=int(re.search(r"(\d+)$", model_type).group(1)))
    if "clip" in model_type:
        return vit, torch.randn(vit.embed_dim, CLIP_EMBED_DIM) / vit.embed_dim**0.5
    return vit
