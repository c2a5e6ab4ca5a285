"""notebooks/explore.ipynb runs top to bottom (nbclient, a real kernel) on a results folder the
test writes, and shows its tables and figures."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO
from test_browser import MODELS, write_fake_results

NOTEBOOK = REPO / "notebooks" / "explore.ipynb"


def test_explore_notebook_runs_on_a_results_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    images = write_fake_results(tmp_path / "results")
    monkeypatch.setenv("MIS_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("MIS_IMAGES", str(images))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    figures = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(figures) == 1 + 2 * len(MODELS)  # the MIS distribution, then two units per model
    html = "".join(output.get("data", {}).get("text/html", "") for output in outputs)
    assert all(model in html for model in MODELS)  # the model summary and the example units
