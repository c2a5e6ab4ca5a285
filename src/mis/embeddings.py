"""The embeddings of one model's task images: the ``embed_images`` stage, which takes each image
from the shared store (``mis.embedding_cache``) or embeds it once into it, and their reading by
``compute_mis`` and the convergence analysis.

One job per model, so that a model's scores wait for its own extraction only and a figure needs
only the models it shows (the store still embeds each image once across models and runs). The job
writes a receipt, ``results/embeddings/<similarity>/<model>.npz``: the images (manifest indices),
their content keys in the store, and a digest of their embeddings, against which the reader checks
what it gathers from the store, so that a store deleted or rebuilt since is an error, never other
vectors. No torch here: only an image that must be embedded loads the backend (and torch).
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from mis.embedding_cache import EmbeddingCache, content_key, file_identity
from mis.images import split_member
from mis.storage import read_arrays

log = logging.getLogger(__name__)
PathLike = str | os.PathLike
EMBED_BLOCK = 4096  # images per store shard: a killed run loses at most this many embeddings


def digest(embeddings: np.ndarray) -> str:
    """SHA-256 of float32 embeddings, row by row."""
    return hashlib.sha256(np.ascontiguousarray(embeddings, dtype=np.float32).tobytes()).hexdigest()


def identities(root: PathLike, paths: np.ndarray, sizes: np.ndarray) -> list[str]:
    """Each image as it is now on disk (``file_identity``); a tar member by its shard's time."""
    found = []
    for path, size in zip(paths, sizes):
        located = split_member(path)
        stat = os.stat(os.path.join(root, located[0] if located else path))
        found.append(file_identity(path, int(size), stat.st_mtime_ns))
    return found


def content_keys(cache: EmbeddingCache, root: PathLike, paths: np.ndarray, known: list[str]) -> list[str]:
    """The store's key of each image: remembered for a file identity seen before, else its bytes
    hashed (and remembered)."""
    keys = [cache.key_of(identity) for identity in known]
    new = [i for i, key in enumerate(keys) if key is None]
    if new:
        from mis.datasets import ShardCache  # reads shard members; only for files not seen before

        shards = ShardCache()
        for i in new:
            located = split_member(paths[i])
            data = shards.read(Path(root, located[0]), located[1]) if located else Path(root, paths[i]).read_bytes()
            keys[i] = content_key(data)
        cache.remember([known[i] for i in new], [keys[i] for i in new])
    return keys


def task_embeddings(receipt_path: PathLike, cache_dir: PathLike) -> tuple[np.ndarray, np.ndarray]:
    """(images, embeddings) of a receipt, gathered from the store and checked against its digest."""
    receipt = read_arrays(receipt_path)
    keys = [key.decode() for key in receipt["key"]]
    try:
        embeddings = EmbeddingCache(cache_dir).get(keys)
    except KeyError as error:
        raise ValueError(
            f"{receipt_path}: {error.args[0]} (deleted or moved since?); "
            "run embed_images again: snakemake --forcerun embed_images"
        ) from None
    if digest(embeddings) != str(receipt["digest"]):
        raise ValueError(
            f"{receipt_path}: the embedding store {cache_dir} holds other vectors for these images than "
            "when they were embedded (rebuilt since?); run embed_images again: snakemake --forcerun embed_images"
        )
    return receipt["image"], embeddings
