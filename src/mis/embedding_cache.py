"""A resumable on-disk store of image embeddings, so that each image is embedded once per backend
and reused by every unit, model and run.

Entries are keyed by the image's content (``content_key``: SHA-256 of its bytes), so a replaced
picture is never served an old vector. Finding an image's key would read every file, so the store
also remembers each file as it was when it was hashed (``file_identity``: path, size and
modification time): a file seen before with the same identity costs one ``stat``; a new, replaced
or touched file is read and hashed once more (a touched one is then found by its content and not
embedded again). On ImageNet that is one read of each task image the first time (about what
embedding it costs in I/O) and a ``stat`` per image after.

The store is a folder of shards, each written atomically under a name of its own (time, host,
process), so that writers never overwrite each other: ``<id>.keys.npy`` / ``<id>.emb.npy`` hold
content keys and their embeddings (embeddings first, keys last, so a shard counts only when
complete), ``<id>.files.npy`` file identities and their content keys. A killed run loses at most
the shard it was writing. One writer at a time (``EmbeddingCache.writing``: an exclusive lock on
``.lock`` in the folder, which the kernel releases when its process ends, however it ends); a
writer that waits says so in its log. Embeddings are memory-mapped, so opening a large store is
cheap.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from mis.storage import atomic_path

log = logging.getLogger(__name__)
KEYS, EMBEDDINGS, FILES = ".keys.npy", ".emb.npy", ".files.npy"
LOCK = ".lock"
STORE_FORMAT = 2  # 1: keyed by path and size
KEY_LENGTH = 32  # hex digits of SHA-256 kept: 128 bits
WAIT_REPORT = 60.0  # seconds between the log lines of a writer waiting for the lock


def content_key(data: bytes) -> str:
    """The store's key of an image: its bytes' SHA-256 (the first 128 bits, in hex)."""
    return hashlib.sha256(data).hexdigest()[:KEY_LENGTH]


def file_identity(path: str, size: int, mtime_ns: int) -> str:
    """A file as it is now: a changed size or modification time is another identity."""
    return f"{path}\t{size}\t{mtime_ns}"


class EmbeddingCache:
    """Embeddings of one similarity backend (one folder per backend and image root)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._shards: list[np.ndarray] = []
        self._where: dict[str, tuple[int, int]] = {}
        self._files: dict[str, str] = {}
        self._read: set[str] = set()
        self.refresh()

    def refresh(self) -> None:
        """Open the shards other writers have added since."""
        for path in sorted(self.folder.glob(f"*{FILES}")):
            if path.name not in self._read:
                self._read.add(path.name)
                self._files.update((str(identity), str(key)) for identity, key in np.load(path))
        for keys_path in sorted(self.folder.glob(f"*{KEYS}")):
            if keys_path.name not in self._read:
                self._read.add(keys_path.name)
                self._open_shard(keys_path)

    def _open_shard(self, keys_path: Path) -> None:
        keys = np.load(keys_path)
        embeddings = np.load(keys_path.with_name(keys_path.name.replace(KEYS, EMBEDDINGS)), mmap_mode="r")
        shard = len(self._shards)
        self._shards.append(embeddings)
        for row, key in enumerate(keys):
            self._where.setdefault(str(key), (shard, row))

    def __len__(self) -> int:
        return len(self._where)

    def keys(self) -> list[str]:
        """Every content key the store holds, sorted: two stores hold the same images if these agree."""
        return sorted(self._where)

    def __contains__(self, key: str) -> bool:
        return str(key) in self._where

    def key_of(self, identity: str) -> str | None:
        """The content key of a file identity seen before, or None."""
        return self._files.get(identity)

    def missing(self, keys: Sequence[str]) -> list[int]:
        """Positions in ``keys`` that the store does not hold."""
        return [i for i, key in enumerate(keys) if str(key) not in self._where]

    def _shard_name(self) -> str:
        """A name no other writer uses: time, host, process; it also orders shards by age."""
        return f"{time.time_ns():020d}-{socket.gethostname()}-{os.getpid()}"

    def add(self, keys: Sequence[str], embeddings: np.ndarray) -> None:
        """Store a block of new embeddings as one shard."""
        if len(keys) != len(embeddings):
            raise ValueError(f"{len(keys)} keys for {len(embeddings)} embeddings")
        if not len(keys):
            return
        name = self._shard_name()
        keys_path = self.folder / f"{name}{KEYS}"
        with atomic_path(self.folder / f"{name}{EMBEDDINGS}") as tmp:
            np.save(tmp, np.asarray(embeddings, dtype=np.float32))
        with atomic_path(keys_path) as tmp:
            np.save(tmp, np.asarray(keys, dtype=str))
        self._read.add(keys_path.name)
        self._open_shard(keys_path)

    def remember(self, identities: Sequence[str], keys: Sequence[str]) -> None:
        """Store which content key each file identity has."""
        if not len(identities):
            return
        path = self.folder / f"{self._shard_name()}{FILES}"
        with atomic_path(path) as tmp:
            np.save(tmp, np.stack([np.asarray(identities, dtype=str), np.asarray(keys, dtype=str)], axis=1))
        self._read.add(path.name)
        self._files.update(zip(map(str, identities), map(str, keys)))

    def get(self, keys: Sequence[str]) -> np.ndarray:
        """Embeddings of ``keys`` (all must be stored), in order: one gather per shard."""
        absent = self.missing(keys)
        if absent:
            raise KeyError(f"{len(absent)} of {len(keys)} images are not in the embedding store {self.folder}")
        where = np.array([self._where[str(key)] for key in keys], dtype=np.int64).reshape(-1, 2)
        dim = self._shards[0].shape[1] if self._shards else 0
        out = np.empty((len(keys), dim), dtype=np.float32)
        for shard in np.unique(where[:, 0]):
            mask = where[:, 0] == shard
            out[mask] = self._shards[shard][where[mask, 1]]
        return out

    def fill(self, keys: Sequence[str], embed: Callable[[list[int]], np.ndarray], block: int) -> int:
        """Embed the missing ``keys`` in blocks of ``block`` (``embed`` takes positions in
        ``keys``), storing each block as it is done; returns how many were embedded. A key given
        twice is embedded once."""
        first: dict[str, int] = {}
        todo = [first.setdefault(str(keys[i]), i) for i in self.missing(keys) if str(keys[i]) not in first]
        for start in range(0, len(todo), block):
            positions = todo[start : start + block]
            self.add([keys[i] for i in positions], embed(positions))
        return len(todo)

    @contextlib.contextmanager
    def writing(self) -> Iterator[EmbeddingCache]:
        """Hold the store's lock, with the shards of earlier writers opened: one writer at a time,
        so that no image is embedded twice. A writer that has to wait says so, and by whom."""
        with open(self.folder / LOCK, "a+") as handle:
            try:
                _lock(handle, self.folder)
                handle.seek(0)
                handle.truncate()
                handle.write(f"{socket.gethostname()} pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
                handle.flush()
                self.refresh()
                yield self
            finally:
                with contextlib.suppress(OSError):
                    fcntl.flock(handle, fcntl.LOCK_UN)


def _lock(handle, folder: Path) -> None:
    """An exclusive lock on ``handle``, waiting (and saying so) while another writer holds it. On a
    filesystem without locks (some cluster filesystems) the store still cannot be corrupted, since
    every shard has a name of its own, but two runs may embed the same image: that is logged."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    except OSError as error:
        if error.errno in (errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOLCK):
            log.warning(
                "%s: the filesystem has no file locks; runs that share this store may embed an image twice", folder
            )
            return
        raise
    waited = 0.0
    while True:
        handle.seek(0)
        holder = handle.read().strip() or "another run"
        log.info("embedding store %s is being written by %s: waiting (%.0f s so far)", folder, holder, waited)
        start = time.monotonic()
        deadline = start + WAIT_REPORT
        while time.monotonic() < deadline:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                log.info("embedding store %s: lock taken after %.0f s", folder, waited + time.monotonic() - start)
                return
            except BlockingIOError:
                time.sleep(0.2)
        waited += time.monotonic() - start
