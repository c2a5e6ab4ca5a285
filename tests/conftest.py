"""Shared fixtures: paths of the repository and a tiny image folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO_IMAGES = REPO / "resources" / "demo-images"
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


@pytest.fixture
def small_image_folder(tmp_path: Path) -> Path:
    """A few real demo photos in a fresh folder (tests may corrupt or delete them)."""
    folder = tmp_path / "images"
    folder.mkdir()
    for path in sorted(DEMO_IMAGES.glob("*.jpg"))[:12]:
        shutil.copy(path, folder / path.name)
    return folder
