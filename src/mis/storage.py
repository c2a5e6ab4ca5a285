"""Reading and writing results atomically, so that a crash or bad input never leaves a half-written output."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# Temporary files are named `.<target name>.<host>.<pid>.<random>.tmp<suffix>`: the next write of the
# same target removes those a killed process left behind (its own host's dead processes' at once,
# other hosts' once untouched for STALE_AFTER seconds), instead of leaving them there for ever.
STALE_AFTER = 3600
_HOST = socket.gethostname().replace(os.sep, "_")


def _temp_affixes(target: Path, suffix: str) -> tuple[str, str]:
    """The (prefix, suffix) of this process's temporary files for ``target``, once the stale ones
    of killed writers are removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix, end = f".{target.name}.", f".tmp{suffix}"
    _remove_stale(target, prefix, end)
    return f"{prefix}{_HOST}.{os.getpid()}.", end


def _remove_stale(target: Path, prefix: str, end: str) -> None:
    """Delete the temporary files of ``target`` whose writer is gone."""
    for name in os.listdir(target.parent):
        if not (name.startswith(prefix) and name.endswith(end)) or len(name) <= len(prefix) + len(end):
            continue
        parts = name[len(prefix) : -len(end)].rsplit(".", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            continue
        path, stale = target.parent / name, False
        if parts[0] == _HOST:
            stale = not _process_alive(int(parts[1]))
        else:
            with contextlib.suppress(FileNotFoundError):
                stale = time.time() - path.stat().st_mtime > STALE_AFTER
        if stale and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif stale:
            path.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    The temporary file keeps the target's suffix so that writers that infer the format from the
    name (matplotlib, pandas, numpy) behave as for the real target. It gets the permissions of a
    file created the usual way (0666 less the umask), not mkstemp's owner-only 0600, so results
    on a shared cluster filesystem are readable by whoever the umask allows. Temporary files of
    the same target left by killed writers are removed first.
    """
    target = Path(path)
    prefix, end = _temp_affixes(target, target.suffix)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=end, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        tmp_path.chmod(0o666 & ~_umask())
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary folder beside ``path``, put in its place (replacing an existing one) only if the
    block succeeds, with the permissions of a folder created the usual way (0777 less the umask),
    not mkdtemp's 0700, which would hide it from a web server or other users. Stale temporary
    folders of the same target are removed first, as for ``atomic_path``."""
    target = Path(path)
    prefix, end = _temp_affixes(target, "")
    tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=end, dir=target.parent))
    try:
        yield tmp
        tmp.chmod(0o777 & ~_umask())
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    """The process's umask (reading it means setting it; it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def sha256_of(path: str | os.PathLike) -> str:
    """SHA-256 of a file, read in 1 MiB blocks (weights and datasets do not fit in memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_table(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Parquet or CSV, by the target's suffix."""
    with atomic_path(path) as tmp:
        if tmp.suffix == ".parquet":
            table.to_parquet(tmp, index=False)
        else:
            table.to_csv(tmp, index=False)


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    path = Path(path)
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def write_arrays(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)


def read_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def write_json(path: str | os.PathLike, content: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n")
