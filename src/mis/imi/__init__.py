"""The IMI human dataset (Zimmermann, Klein & Brendel, NeurIPS 2023; Zenodo record 8131197) and the
validation of MIS against it (method.md §3–4, Fig. 2).

Modules: ``download`` (the record's files, checksum-verified), ``responses`` (response tables →
per-unit human interpretability score, HIS), ``stimuli`` (the task images humans saw → ``Tasks``),
``scores`` (MIS of the IMI units; imports torch), ``selection`` (highest/lowest-MIS units).

A unit is keyed by ``UNIT_KEYS``. IMI writes a harder query condition into the model name
(``resnet50_hard95``, verified from the authors' analysis code, which strips these suffixes to
recover the model); ``split_condition`` moves it into the condition, so that the same model keeps
one name across conditions: condition = mode (``natural`` | ``optimized``) + ``_hardNN`` if any.
"""

from __future__ import annotations

import re

UNIT_KEYS = ["model", "condition", "layer", "channel"]
MODES = ("natural", "optimized")
EASY = "easy"
_DIFFICULTY = re.compile(r"(?P<model>.+?)_(?P<difficulty>hard\d+)")

# Display names of the 9 IMI models (IMI's own names as keys).
IMI_LABELS = {
    "googlenet": "GoogLeNet",
    "resnet50": "ResNet-50",
    "resnet50-l2": "Robust ResNet-50",
    "clip-resnet50": "CLIP ResNet-50",
    "wide_resnet50": "Wide ResNet-50",
    "densenet_201": "DenseNet-201",
    "convnext_b": "ConvNeXt-B",
    "in1k-vit_b32": "ViT-B/32",
    "clip-vit_b32": "CLIP ViT-B/32",
}


def split_condition(model: str) -> tuple[str, str]:
    """(model, difficulty) of an IMI model name: ``resnet50_hard95`` → (``resnet50``, ``hard95``);
    a name without a ``_hardNN`` suffix is the easy condition."""
    match = _DIFFICULTY.fullmatch(model)
    return (match["model"], match["difficulty"]) if match else (model, EASY)


def condition_of(mode: str, difficulty: str) -> str:
    """``natural``, ``optimized``, ``natural_hard95``, …"""
    return mode if difficulty == EASY else f"{mode}_{difficulty}"
