"""The embeddings stage: each image a model's tasks use, taken from the shared store or embedded
once into it (``mis.embeddings``). No torch unless an image must be embedded."""

from __future__ import annotations

import functools
import logging
import os

import numpy as np

from mis.embedding_cache import EmbeddingCache
from mis.embeddings import EMBED_BLOCK, content_keys, digest, identities
from mis.settings import SimilaritySettings
from mis.storage import read_table, write_arrays, write_json
from mis.tasks import read_tasks, task_images

log = logging.getLogger(__name__)
PathLike = str | os.PathLike


def embed_images(
    model_name: str,
    similarity: SimilaritySettings,
    images_root: PathLike,
    manifest_path: PathLike,
    tasks_path: PathLike,
    device: str,
    threads: int,
    cache_dir: PathLike,
    receipt_path: PathLike,
    report_path: PathLike,
) -> None:
    """The embeddings of every image the model's tasks use: each taken from the store or embedded
    once (and stored) with the configured similarity backend; the receipt and a report."""
    manifest = read_table(manifest_path)
    needed = task_images(read_tasks(tasks_path))
    paths, sizes = manifest["path"].to_numpy()[needed], manifest["bytes"].to_numpy()[needed]

    @functools.cache
    def embedder():  # torch and the backend's network: only if an image must be embedded
        import torch

        from mis.allocator import retain_freed_memory
        from mis.models import select_device
        from mis.similarity import build_embedder

        torch.set_num_threads(threads)
        retain_freed_memory()
        return build_embedder(similarity.spec, select_device(device))

    def embed(positions: list[int]) -> np.ndarray:
        from mis.similarity import embed_paths

        chosen = [str(paths[i]) for i in positions]
        return embed_paths(embedder(), str(images_root), chosen, similarity.batch_size, similarity.num_workers)[0]

    with EmbeddingCache(cache_dir).writing() as cache:
        keys = content_keys(cache, images_root, paths, identities(images_root, paths, sizes))
        n_embedded = cache.fill(keys, embed, block=EMBED_BLOCK)
        embeddings = cache.get(keys)
    write_arrays(receipt_path, image=needed, key=np.asarray(keys, dtype="S"), digest=np.array(digest(embeddings)))
    report = {
        "similarity": similarity.name,
        "model": model_name,
        "requested": len(needed),
        "embedded": n_embedded,
        "from_cache": len(needed) - n_embedded,
        "store": str(cache_dir),
    }
    write_json(report_path, report)
    log.info("%(model)s: %(requested)d images requested, %(embedded)d embedded, %(from_cache)d from the store", report)
