"""glibc malloc settings for the jobs that run networks.

By default glibc serves every block above its (adaptive, at most 32 MiB) mmap threshold with a
fresh mmap and returns it on free, and trims the heap top above 128 KiB: every batch of a forward
pass then maps its large activation tensors anew and page-faults on every page. At batch 64 this
was half of MobileNetV2's forward CPU time, all system time (benchmarks/README.md). Keeping freed
memory in the process makes the second batch on reuse it, with identical results.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
RETAIN_BYTES = 1 << 30  # blocks up to 1 GiB come from the heap, and up to 1 GiB of free heap is kept


def retain_freed_memory(limit: int = RETAIN_BYTES) -> bool:
    """Raise glibc's mmap and trim thresholds to ``limit`` bytes in this process (the same as
    ``GLIBC_TUNABLES=glibc.malloc.mmap_threshold=<limit>:glibc.malloc.trim_threshold=<limit>`` in the
    environment). Returns whether it applied: other C libraries (macOS, musl) are left alone."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    applied = bool(mallopt(M_MMAP_THRESHOLD, limit)) and bool(mallopt(M_TRIM_THRESHOLD, limit))
    log.info("glibc malloc keeps freed blocks up to %d bytes: %s", limit, applied)
    return applied
