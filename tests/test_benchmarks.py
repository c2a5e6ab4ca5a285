"""Every benchmark still runs (benchmarks/harness.py: ``--smoke`` is tiny inputs and one repeat, whose
numbers mean nothing) and writes its results page, so that no benchmark rots between measurements.
The measured pages are benchmarks/results/*.md, which the README links."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import REPO

pytestmark = pytest.mark.workflow
BENCHMARKS = REPO / "benchmarks"
SCRIPTS = sorted(p.stem for p in BENCHMARKS.glob("*.py") if p.stem not in ("harness", "inputs"))


def test_every_benchmark_is_smoke_tested() -> None:
    assert set(SCRIPTS) == {"decode", "extraction", "gpu", "limit", "pipeline", "reproducibility", "scoring", "startup"}


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_runs_and_writes_its_page(script: str, tmp_path: Path) -> None:
    out = tmp_path / f"{script}.md"
    command = [sys.executable, str(BENCHMARKS / f"{script}.py"), "--smoke", "--out", str(out)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    if script == "gpu" and not torch.cuda.is_available():
        assert "needs a CUDA device" in result.stdout and not out.exists()
        return
    page = out.read_text()
    assert page.startswith("# ") and "--smoke" in page and "revision" in page
    assert re.search(r"^\|( ?-{3,} ?\|)+$", page, re.MULTILINE), "no table"
