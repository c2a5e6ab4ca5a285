"""The nine models of the IMI human study (Zimmermann, Klein, Brendel, NeurIPS 2023) as model specs
for ``mis.models.build_model`` and the ``models`` config section, under their IMI names.

The paper text names the models but not the checkpoints; the IMI stimulus code does
(github.com/brendel-group/imi, ``stimuli_generation/utils.py``: ``load_model``, ``get_transforms``
and a table of the ImageNet accuracies it checked). Each choice below follows it, and the accuracy
in the comment is that table's, which matches the checkpoint. The library is the one that ships
those weights with the transform IMI used: torchvision's checkpoints with torchvision's eval
transform (resize 256, centre crop 224), the ViTs with timm's and open_clip's own; ConvNeXt differs
slightly (see there).
"""

from __future__ import annotations

from typing import Any

import timm


def _spec(library: str, architecture: str, **weights: str) -> dict[str, Any]:
    return {"library": library, "architecture": architecture, "weights": weights}


IMI_MODELS: dict[str, dict[str, Any]] = {
    # STAND-IN: IMI used lucent's InceptionV1, the original GoogLeNet ported from TensorFlow (no batch
    # norm, its own input scaling), whose weights no installable library ships. torchvision's
    # batch-norm GoogLeNet (69.8 %) is the nearest model with loadable weights.
    "googlenet": _spec("torchvision", "googlenet", source="hub", tag="IMAGENET1K_V1"),
    # resnet50-0676ba61.pth, torchvision's original weights (76.1 %); timm's resnet50.tv_in1k holds
    # the same tensors, but torchvision keeps resnet50 and resnet50-l2 on one architecture and transform.
    "resnet50": _spec("torchvision", "resnet50", source="hub", tag="IMAGENET1K_V1"),
    # The Madry lab's L2-robust ResNet-50, eps 3 (62.4 %): resnet50_l2_eps3.ckpt from
    # huggingface.co/madrylab/robust-imagenet-models. Not downloadable here: put the file at this
    # path (or change it). The checkpoint keeps the model under "model." beside a normaliser and an
    # attacker copy; the normaliser's ImageNet mean/std is what the torchvision transform applies.
    "resnet50-l2": _spec(
        "torchvision", "resnet50", source="file", path="resources/weights/resnet50_l2_eps3.ckpt", key_prefix="model."
    ),
    # OpenAI's CLIP RN50 (59.8 % zero-shot). The paper's "400 million" samples are OpenAI's WIT-400M
    # here, not LAION.
    "clip-resnet50": _spec("open_clip", "RN50", source="hub", tag="openai"),
    # wide_resnet50_2-9ba9bcbe.pth is torchvision's V2 recipe (81.6 %, the accuracy IMI lists), not V1
    # (78.5 %); timm's copy (wide_resnet50_2.tv2_in1k) would evaluate at its 176 px training size.
    "wide_resnet50": _spec("torchvision", "wide_resnet50_2", source="hub", tag="IMAGENET1K_V2"),
    # torchvision's DenseNet-201 (76.9 %): IMI recorded its norm layers before the ReLU; timm's
    # densenet201 fuses the ReLU into the norm layer, so its norm outputs would be rectified.
    "densenet_201": _spec("torchvision", "densenet201", source="hub", tag="IMAGENET1K_V1"),
    # 83.8 %. IMI gave it torchvision's eval transform; timm's config crops the same 224 of 256 px
    # but resizes bicubically instead of bilinearly.
    "convnext_b": _spec("timm", "convnext_base.fb_in1k", source="hub"),
    "in1k-vit_b32": _spec("timm", "vit_base_patch32_224.augreg_in1k", source="hub"),  # 74.9 %
    # LAION-2B (66.6 % zero-shot), as in IMI's code and accuracy table; the paper's text says 400
    # million LAION samples (laion400m_*), but the listed accuracy is this model's.
    "clip-vit_b32": _spec("open_clip", "ViT-B-32", source="hub", tag="laion2b_s34b_b79k"),
}


def timm_sweep(include: str = "*", exclude: tuple[str, ...] = ()) -> dict[str, dict]:
    """Model specs for a large-scale sweep: every timm architecture matching ``include`` (minus
    ``exclude`` patterns) whose default pretrained weights classify ImageNet-1k (a 1000-class head
    trained or fine-tuned on in1k), one per architecture, by its tagged timm name. The list is fixed
    by the pinned timm version."""
    specs = {}
    for architecture in timm.list_models(include, exclude_filters=list(exclude)):
        cfg = timm.models.get_pretrained_cfg(architecture)  # the default (first listed) weights
        has_weights = cfg is not None and (cfg.hf_hub_id or cfg.url)
        if not has_weights or cfg.num_classes != 1000 or "in1k" not in (cfg.tag or ""):
            continue
        name = f"{architecture}.{cfg.tag}"
        specs[name] = {"library": "timm", "architecture": name, "weights": {"source": "hub"}}
    return specs
