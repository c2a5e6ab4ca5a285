"""The IMI human dataset (Zimmermann, Klein & Brendel, NeurIPS 2023; Zenodo record 8131197) and the
validation of MIS against it (method.md §3–4, Fig. 2).

Modules: ``download`` (the record's files through pooch, checksum-verified, archives unpacked
safely), ``release`` (where the stages' files are in the unpacked release), ``responses`` (response
tables → tidy trials → per-unit human interpretability score, HIS), ``file_map`` (trials rebuilt
from ImageNet-train) and ``stimuli`` (trials from the stimulus images), ``scores`` (MIS of the IMI
units from those images; imports torch), ``alpha`` (the fit of α and the validation against HIS),
``appendix`` (backend comparison, overestimated units), ``layers`` (IMI layer names → module names,
and the join with the project's unit tables), ``selection`` (highest/lowest-MIS units, Fig. 2C),
``demo`` (a small release in the real layout, for tests and offline trials). The stages that chain
them are ``mis.stages.imi``.

A unit is keyed by ``UNIT_KEYS``. IMI writes a harder query condition into the model name
(``resnet50_hard95``, verified from the authors' analysis code, which strips these suffixes to
recover the model); ``split_condition`` moves it into the condition, so that the same model keeps
one name across conditions: condition = mode (``natural`` | ``optimized``) + ``_hardNN`` if any.
"""

from __future__ import annotations

import re

DOI = "10.5281/zenodo.8131197"  # the release's Zenodo record (config imi.doi)
UNIT_KEYS = ["model", "condition", "layer", "channel"]
MODES = ("natural", "optimized")
EASY = "easy"
_DIFFICULTY = re.compile(r"(?P<model>.+?)_(?P<difficulty>hard\d+)")

# Display names of the 9 IMI models (IMI's own names as keys).
CEILING = "noise ceiling"  # the row of the backend comparison that is the human noise ceiling
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
