"""Atomic writes: a failure leaves neither the target nor a temporary file."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mis import storage
from mis.storage import atomic_directory, atomic_path, read_arrays, read_table, sha256_of, write_arrays, write_table


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out" / "table.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert list((tmp_path / "out").iterdir()) == []


def test_roundtrips(tmp_path: Path) -> None:
    table = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    for name in ("t.csv", "t.parquet"):
        write_table(table, tmp_path / name)
        pd.testing.assert_frame_equal(read_table(tmp_path / name), table)
    write_arrays(tmp_path / "a.npz", x=np.arange(3))
    np.testing.assert_array_equal(read_arrays(tmp_path / "a.npz")["x"], np.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "t.csv", "t.parquet"]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_outputs_get_the_permissions_the_umask_allows(tmp_path: Path, umask: int) -> None:
    """Not mkstemp's 0600: results on a shared filesystem stay readable by the group and others."""
    previous = os.umask(umask)
    try:
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "table.csv")
    finally:
        os.umask(previous)
    assert (tmp_path / "table.csv").stat().st_mode & 0o777 == 0o666 & ~umask


def test_atomic_directory_replaces_or_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "site"
    with atomic_directory(target) as folder:
        (folder / "a.txt").write_text("first")
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as folder:
            (folder / "b.txt").write_text("half")
            raise RuntimeError("crash mid-build")
    assert [p.name for p in tmp_path.iterdir()] == ["site"] and [p.name for p in target.iterdir()] == ["a.txt"]
    previous = os.umask(0o027)
    try:
        with atomic_directory(target) as folder:
            (folder / "c.txt").write_text("second")
    finally:
        os.umask(previous)
    assert [p.name for p in target.iterdir()] == ["c.txt"]  # the old one is replaced
    assert target.stat().st_mode & 0o777 == 0o750  # not mkdtemp's 0700


def test_sha256_of_a_file_larger_than_a_block(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"ab" * (1 << 20))
    assert sha256_of(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_killed_writers_temp_file_is_removed_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "units.parquet"
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys\nfrom mis.storage import atomic_path\n"
            f"with atomic_path({str(target)!r}) as tmp:\n    tmp.write_bytes(b'partial')\n    os._exit(9)",
        ],
        timeout=60,
    )
    assert killed.returncode == 9
    (left,) = tmp_path.iterdir()  # hidden, beside the target, with the target's suffix
    assert left.name.startswith(".units.parquet.") and left.name.endswith(".tmp.parquet")
    alive = tmp_path / f".units.parquet.{storage._HOST}.{os.getpid()}.abc.tmp.parquet"  # a running writer's
    elsewhere_old = tmp_path / ".units.parquet.otherhost.12.abc.tmp.parquet"
    elsewhere_new = tmp_path / ".units.parquet.otherhost.13.abc.tmp.parquet"
    for path in (alive, elsewhere_old, elsewhere_new):
        path.write_bytes(b"x")
    os.utime(elsewhere_old, (0, 0))
    write_table(pd.DataFrame({"a": [1]}), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, alive.name, elsewhere_new.name])
    stale_dir = tmp_path / ".browser.otherhost.14.abc.tmp"
    stale_dir.mkdir()
    os.utime(stale_dir, (0, 0))
    with atomic_directory(tmp_path / "browser") as folder:
        (folder / "index.html").write_text("hi")
    assert not stale_dir.exists() and (tmp_path / "browser" / "index.html").is_file()
