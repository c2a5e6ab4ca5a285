"""What the workflow reads of a study's session folder when it plans a run (no pandas, no torch)."""

from __future__ import annotations

import os
from pathlib import Path

from mis.assets import file_state


def session_files(folder: str | os.PathLike) -> tuple[tuple[str, str], ...]:
    """The param of the merge that changes when a session file in ``folder`` is added, removed or
    changed (name and ``file_state``), so that Snakemake re-runs it."""
    return tuple(sorted((path.name, file_state(path)) for path in Path(folder).glob("*.csv")))
