"""Logging for pipeline steps: everything (log records, warnings, tqdm progress) goes to the rule's log."""

from __future__ import annotations

import logging
import os
import sys


def log_to(path: str | os.PathLike) -> None:
    """Send stderr, and with it logging and tqdm progress bars, to ``path``."""
    sys.stderr = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the script
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
