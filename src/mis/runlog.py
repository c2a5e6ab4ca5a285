"""A pipeline step's process: everything (log records, warnings, tqdm progress) goes to the rule's
log, and the process ends without the interpreter's final garbage collection."""

from __future__ import annotations

import atexit
import gc
import logging
import os
import sys


def log_to(path: str | os.PathLike) -> None:
    """Send stderr, and with it logging and tqdm progress bars, to ``path``; at exit, freeze every
    object out of the interpreter's final garbage collection, which once torch and timm are imported
    costs about 0.9 CPU s per job (benchmarks/README.md, "Start-up of the jobs"). A step has
    written and closed its outputs by then, and the log handlers are closed by logging's own exit
    handler, not by the collection."""
    sys.stderr = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the script
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
    atexit.register(gc.freeze)
