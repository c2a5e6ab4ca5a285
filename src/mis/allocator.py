"""glibc malloc settings for the jobs that run networks.

By default glibc serves every block above its (adaptive, at most 32 MiB) mmap threshold with a
fresh mmap and returns it on free, and trims the heap top above 128 KiB: every batch of a forward
pass then maps its large activation tensors anew and page-faults on every page. At batch 64 this
was half of MobileNetV2's forward CPU time, all system time (benchmarks/README.md). Keeping freed
memory in the process makes the second batch on reuse it, with identical results.

The trim threshold must exceed the free heap top that a batch leaves behind, or the heap is given
back and faulted in again on every batch: EfficientNet-Lite0 at batch 64 grows the heap to 1.46 GB
and, in about half of the processes (by where its blocks happen to lie), left 1.1 GB free at the
top, above the 1 GiB this used to set: those processes ran its forward pass at 15 CPU ms per photo
instead of 8. Both thresholds are therefore as high as ``mallopt`` takes (its value is a C int).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
RETAIN_BYTES = 2**31 - 1  # blocks up to 2 GiB come from the heap, and up to 2 GiB of free heap is kept


def glibc_tunables(limit: int = RETAIN_BYTES) -> str:
    """The same setting as ``retain_freed_memory`` for a process yet to start (``GLIBC_TUNABLES``)."""
    return f"glibc.malloc.mmap_threshold={limit}:glibc.malloc.trim_threshold={limit}"


def retain_freed_memory(limit: int = RETAIN_BYTES) -> bool:
    """Raise glibc's mmap and trim thresholds to ``limit`` bytes in this process (the same as
    ``GLIBC_TUNABLES=<glibc_tunables(limit)>`` in the environment of a new one). Returns whether it
    applied: other C libraries (macOS, musl) are left alone."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    applied = bool(mallopt(M_MMAP_THRESHOLD, limit)) and bool(mallopt(M_TRIM_THRESHOLD, limit))
    log.info("glibc malloc keeps freed blocks up to %d bytes: %s", limit, applied)
    return applied
