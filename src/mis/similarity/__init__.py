"""Image similarity backends, chosen by the config key ``similarity.backend``.

Two kinds, because they feed the score differently:
- embedding backends (``timm_features``, ``dreamsim``) map each image to a unit-norm vector once;
  similarity is the cosine of two embeddings, and ``mis.scoring`` reuses the cached embeddings for
  every unit (entry point ``build_embedder``);
- pairwise backends (``lpips``, ``dists``) only give a distance per image pair, so nothing can be
  cached: ``pairwise_task_margins`` runs every (query, reference) pair of every task, which suits a
  few hundred units (IMI's 767), not a model zoo (entry point ``build_pairwise``).

The paper's DreamSim (weights from a folder, never downloaded; see ``dreamsim_embedder``)::

    similarity:
      name: dreamsim-ensemble
      label: DreamSim ensemble (DINO + CLIP + OpenCLIP ViT-B/16)
      backend: dreamsim
      variant: ensemble               # the default
      weights_dir: resources/weights/dreamsim
      batch_size: 32
"""

import importlib

from mis.similarity.embedding import Embedder, TimmFeatureEmbedder, build_embedder, embed_paths

_PAIRWISE = ("PairwiseBackend", "build_pairwise", "pairwise_task_margins")


def __getattr__(name: str):
    """The pairwise backends' names, imported on first use (they import torchvision's models)."""
    if name in _PAIRWISE:
        return getattr(importlib.import_module("mis.similarity.pairwise"), name)
    raise AttributeError(f"module 'mis.similarity' has no attribute '{name}'")


__all__ = [
    "Embedder",
    "PairwiseBackend",
    "TimmFeatureEmbedder",
    "build_embedder",
    "build_pairwise",
    "embed_paths",
    "pairwise_task_margins",
]
