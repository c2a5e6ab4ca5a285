"""The jobs' glibc setting keeps a freed heap top of more than 1 GiB, the size that made
EfficientNet-Lite0's batches page-fault anew in about half of the processes."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from mis.allocator import RETAIN_BYTES, glibc_tunables

# A fresh process: malloc 1.5 GB (untouched, so no memory is used), free it, report the heap size.
HEAP_AFTER_FREE = """
import ctypes, ctypes.util, sys
from mis.allocator import retain_freed_memory
if sys.argv[1] == "mallopt":
    assert retain_freed_memory()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
small = [libc.malloc(1 << 16) for _ in range(1000)]  # the heap the big block is served from
libc.free(libc.malloc(1_500_000_000))

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                     "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc.mallinfo2.restype = MallInfo2
print(libc.mallinfo2().arena)
"""

LIBC, LIBC_VERSION = platform.libc_ver()
HAS_MALLINFO2 = LIBC == "glibc" and tuple(map(int, LIBC_VERSION.split(".")[:2])) >= (2, 33)


def heap_after_free(how: str, env: dict[str, str] | None = None) -> int:
    out = subprocess.run([sys.executable, "-c", HEAP_AFTER_FREE, how], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


@pytest.mark.skipif(not HAS_MALLINFO2, reason="glibc's malloc, read with mallinfo2 (glibc >= 2.33)")
def test_a_freed_heap_top_of_1_5_gb_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    assert RETAIN_BYTES > 1_500_000_000
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    assert heap_after_free("none") < 100_000_000  # glibc's default: mapped apart and given back
    assert heap_after_free("mallopt") > 1_500_000_000
    env = dict(os.environ, GLIBC_TUNABLES=glibc_tunables())
    assert heap_after_free("none", env) > 1_500_000_000
    old = dict(env, GLIBC_TUNABLES=glibc_tunables(1 << 30))  # the former setting gives it back
    assert heap_after_free("none", old) < 100_000_000
