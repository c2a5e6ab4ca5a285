"""Shared fixtures: paths of the repository, a tiny image folder, and the same photos as a
class-folder tree and as tar shards; one layer's channels scored through ``mis.api`` once per test
run (tests/test_api.py checks them, tests/test_sae.py compares dictionaries with them)."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO_IMAGES = REPO / "resources" / "demo-images"
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"

# The layer scored through the API: a random-init tiny timm ResNet's layer2.0.conv1 (48 channels).
API_ARCHITECTURE, API_LAYER, API_CHANNELS = "test_resnet", "layer2.0.conv1", 48
API_SPEC = {"architecture": API_ARCHITECTURE, "weights": {"source": "random", "seed": 0}}
# A second similarity backend for the IMI comparison, random and small: a tiny timm ViT's features.
TINY_SIMILARITY = {
    "name": "tiny-vit",
    "label": "random tiny ViT (test)",
    "backend": "timm_features",
    "architecture": "test_vit",
    "weights": {"source": "random", "seed": 0},
    "batch_size": 32,
}


def unit_rows(x) -> np.ndarray:
    """float32 rows scaled to unit norm, as the embedding stage stores them."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def pytest_terminal_summary(terminalreporter) -> None:
    """Skipped browser tests, named in the run's summary with what to install: a skip must
    not pass for a success (in CI, where CI=true, tests/test_browser.py fails instead)."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if "Chromium is not installed" in str(report.longrepr)
    ]
    if skipped:
        terminalreporter.write_sep("!", f"{len(skipped)} BROWSER TESTS SKIPPED", red=True, bold=True)
        for report in skipped:
            terminalreporter.write_line(f"SKIPPED {report.nodeid}", red=True)
        terminalreporter.write_line(str(skipped[0].longrepr[2]).removeprefix("Skipped: "), red=True, bold=True)


@pytest.fixture
def small_image_folder(tmp_path: Path) -> Path:
    """A few real demo photos in a fresh folder (tests may corrupt or delete them)."""
    folder = tmp_path / "images"
    folder.mkdir()
    for path in sorted(DEMO_IMAGES.glob("*.jpg"))[:12]:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
def class_folder_tree(small_image_folder: Path, tmp_path: Path) -> Path:
    """The photos as an ImageNet-style tree, ``train/<wnid>/<stem>.JPEG``, in three classes."""
    root = tmp_path / "imagenet"
    for position, path in enumerate(sorted(small_image_folder.iterdir())):
        target = root / "train" / f"n0144076{position % 3}" / f"{path.stem}.JPEG"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    return root


@pytest.fixture
def tar_shards(small_image_folder: Path, tmp_path: Path) -> Path:
    """The photos as two WebDataset-style shards: ``shard-000.tar`` holds ``<stem>.jpg`` with a
    ``<stem>.cls`` label (0 or 1) and a ``.json`` sidecar; ``shard-001.tar`` holds
    ``<wnid>/<stem>.jpg`` (three classes) without labels."""
    root = tmp_path / "shards"
    root.mkdir()
    photos = sorted(small_image_folder.iterdir())
    first = {}
    for position, path in enumerate(photos[:6]):
        first[f"{path.stem}.jpg"] = path.read_bytes()
        first[f"{path.stem}.cls"] = f"{position % 2}\n".encode()
        first[f"{path.stem}.json"] = b"{}"
    second = {f"n0144076{position % 3}/{path.stem}.jpg": path.read_bytes() for position, path in enumerate(photos[6:])}
    for name, members in [("shard-000.tar", first), ("shard-001.tar", second)]:
        with tarfile.open(root / name, "w") as tar:
            for member, data in members.items():
                info = tarfile.TarInfo(member)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return root


@pytest.fixture(scope="session")
def photos(tmp_path_factory) -> Path:
    """30 demo photos from across the categories."""
    folder = tmp_path_factory.mktemp("photos")
    for path in sorted(DEMO_IMAGES.glob("*.jpg"))[::17][:30]:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="session")
def channel_units(photos: Path):
    """The unit table of the API layer's channels: N = 2, K = 2, seed 0 (tests must not modify it)."""
    from mis.api import score_layer
    from mis.models import build_model

    return score_layer(build_model(API_SPEC), API_LAYER, photos, n_tasks=2, n_refs=2, seed=0, name=API_ARCHITECTURE)
