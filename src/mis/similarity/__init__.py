"""Image similarity backends, chosen by the config key ``similarity.backend``.

The backends and their kinds are listed once, in ``backends`` (the registry). Two kinds, because
they feed the score differently:
- embedding backends (``timm_features``, ``dreamsim``) map each image to a unit-norm vector once;
  similarity is the cosine of two embeddings, and ``mis.scoring`` reuses the stored embeddings for
  every unit (entry point ``build_embedder``);
- pairwise backends (``lpips``, ``dists``) only give a distance per image pair, so nothing can be
  stored: ``pairwise_task_margins`` runs every (query, reference) pair of every task, which suits a
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

# name: module; imported on first use, so that ``mis.similarity.backends`` (the registry, which the
# torch-free settings read) costs no torch
_LAZY = {
    "Embedder": "embedding",
    "TimmFeatureEmbedder": "embedding",
    "build_embedder": "embedding",
    "embed_paths": "embedding",
    "PairwiseBackend": "pairwise",
    "build_pairwise": "pairwise",
    "pairwise_task_margins": "pairwise",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"mis.similarity.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'mis.similarity' has no attribute '{name}'")


__all__ = sorted(_LAZY)
