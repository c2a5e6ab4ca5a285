"""A resumable on-disk store of image embeddings, so that each image is embedded once per backend
and reused by every unit, model and run.

Entries are keyed by the image's path relative to the image root and its size in bytes (a
path-keyed store: hashing the contents of 1.28 M ImageNet files would cost a full read of the
dataset). The store is a folder of shards, each a pair ``<n>.keys.npy`` / ``<n>.emb.npy`` written
atomically (embeddings first, keys last, so a shard counts only when complete); a killed run loses
at most the shard it was writing. Embeddings are memory-mapped, so opening a large store is cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from mis.storage import atomic_path

KEYS, EMBEDDINGS = ".keys.npy", ".emb.npy"


def image_keys(paths: Sequence[str], sizes: Sequence[int]) -> np.ndarray:
    return np.array([f"{path}\t{size}" for path, size in zip(paths, sizes)])


class EmbeddingCache:
    """Embeddings of one similarity backend (one folder per backend and image root)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._shards: list[np.ndarray] = []
        self._where: dict[str, tuple[int, int]] = {}
        for keys_path in sorted(self.folder.glob(f"*{KEYS}"), key=lambda p: int(p.name.split(".")[0])):
            self._open_shard(keys_path)

    def _open_shard(self, keys_path: Path) -> None:
        keys = np.load(keys_path)
        embeddings = np.load(keys_path.with_name(keys_path.name.replace(KEYS, EMBEDDINGS)), mmap_mode="r")
        shard = len(self._shards)
        self._shards.append(embeddings)
        for row, key in enumerate(keys):
            self._where[str(key)] = (shard, row)

    def __len__(self) -> int:
        return len(self._where)

    def missing(self, keys: Sequence[str]) -> list[int]:
        """Positions in ``keys`` that the store does not hold."""
        return [i for i, key in enumerate(keys) if str(key) not in self._where]

    def add(self, keys: Sequence[str], embeddings: np.ndarray) -> None:
        """Store a block of new embeddings as one shard."""
        if len(keys) != len(embeddings):
            raise ValueError(f"{len(keys)} keys for {len(embeddings)} embeddings")
        if not len(keys):
            return
        shard = len(self._shards)
        keys_path = self.folder / f"{shard}{KEYS}"
        with atomic_path(self.folder / f"{shard}{EMBEDDINGS}") as tmp:
            np.save(tmp, np.asarray(embeddings, dtype=np.float32))
        with atomic_path(keys_path) as tmp:
            np.save(tmp, np.asarray(keys, dtype=str))
        self._open_shard(keys_path)

    def get(self, keys: Sequence[str]) -> np.ndarray:
        """Embeddings of ``keys`` (all must be stored), in order: one gather per shard."""
        where = np.array([self._where[str(key)] for key in keys], dtype=np.int64).reshape(-1, 2)
        dim = self._shards[0].shape[1] if self._shards else 0
        out = np.empty((len(keys), dim), dtype=np.float32)
        for shard in np.unique(where[:, 0]):
            mask = where[:, 0] == shard
            out[mask] = self._shards[shard][where[mask, 1]]
        return out

    def fill(self, keys: Sequence[str], embed: Callable[[list[int]], np.ndarray], block: int) -> int:
        """Embed the missing ``keys`` in blocks of ``block`` (``embed`` takes positions in
        ``keys``), storing each block as it is done; returns how many were embedded."""
        todo = self.missing(keys)
        for start in range(0, len(todo), block):
            positions = todo[start : start + block]
            self.add([keys[i] for i in positions], embed(positions))
        return len(todo)
