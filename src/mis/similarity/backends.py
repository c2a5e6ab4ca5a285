"""The similarity backends, by the name of the config key ``similarity.backend``: the one list of
them. Settings (is it pairwise?), the builders, the check of their weights before any job
(``mis.assets``) and the schema's enum (tests/test_config.py) all read it. No torch here: the
builders are named, and imported only when one is built.

Two kinds, because they feed the score differently:
- embedding backends map each image to a unit-norm vector once, and similarity is the cosine of
  two embeddings (``mis.similarity.embedding``);
- pairwise backends only give a distance per image pair, so every (query, reference) pair of every
  task is compared (``mis.similarity.pairwise``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Backend:
    pairwise: bool  # compares image pairs: scored from the task images, nothing is embedded or stored
    build: str  # "module:function" (the flat similarity spec, a device) -> an Embedder or a PairwiseBackend
    check: str | None  # "module:function" (spec) raising WeightsError naming what is missing; None: model weights


BACKENDS: dict[str, Backend] = {
    # a timm classifier's pooled pre-logit features (the embedded default's stand-in for DreamSim);
    # its weights are a model's (mis.assets checks them as such)
    "timm_features": Backend(False, "mis.similarity.embedding:build_timm_features", None),
    # the paper's DreamSim (weights from a folder, never downloaded)
    "dreamsim": Backend(
        False, "mis.similarity.dreamsim_embedder:build_from_spec", "mis.similarity.dreamsim_embedder:check_spec"
    ),
    # the paper's appendix comparison
    "lpips": Backend(True, "mis.similarity.pairwise:build_pairwise", "mis.similarity.pairwise:check_weights"),
    "dists": Backend(True, "mis.similarity.pairwise:build_pairwise", "mis.similarity.pairwise:check_weights"),
}


def backend(name: str) -> Backend:
    """The backend of that name; an unknown one fails naming the config key."""
    if name not in BACKENDS:
        raise ValueError(
            f"unknown similarity backend '{name}' (config key 'similarity.backend'); one of {list(BACKENDS)}"
        )
    return BACKENDS[name]


def function(reference: str) -> Callable[..., Any]:
    """The function a ``module:function`` reference names, its module imported now."""
    module, name = reference.split(":")
    return getattr(importlib.import_module(module), name)
