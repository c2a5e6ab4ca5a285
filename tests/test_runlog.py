"""A step's process: its log gets every line, and the final garbage collection is skipped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

STEP = """
import atexit, gc, logging, sys, warnings
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0, file=sys.__stdout__))
from mis.runlog import log_to
log_to(sys.argv[1])
cycle = []
cycle.append(cycle)
logging.getLogger("step").info("last record")
warnings.warn("a warning")
print("stderr text", file=sys.stderr)
"""


def test_a_step_logs_everything_and_freezes_its_objects_at_exit(tmp_path: Path) -> None:
    log = tmp_path / "step.log"
    result = subprocess.run([sys.executable, "-c", STEP, str(log)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "frozen at exit: True"
    text = log.read_text()
    assert "INFO step: last record" in text and "a warning" in text and text.endswith("stderr text\n")
