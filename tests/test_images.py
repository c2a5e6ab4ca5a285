"""The image manifest and the image dataset."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import DEMO_IMAGES
from mis.datasets import ImageDataset
from mis.images import build_manifest, category_of, manifest_fingerprint


def test_demo_images_ship_with_their_credits() -> None:
    assert len(list(DEMO_IMAGES.glob("*.jpg"))) == 511
    assert (DEMO_IMAGES / "CREDITS.md").is_file()
    assert (DEMO_IMAGES / "licenses").is_dir()


def test_manifest_is_sorted_and_categorised(small_image_folder: Path) -> None:
    manifest = build_manifest(small_image_folder, [".jpg"])
    assert list(manifest["image"]) == list(range(12))
    assert list(manifest["path"]) == sorted(manifest["path"])
    assert (manifest["bytes"] > 0).all()
    assert category_of("gc_categorization_images_fishes_fish1.jpg") == "gc_categorization_images_fishes"
    assert category_of("n01440764/n01440764_10026.JPEG") == "n01440764"


def test_fingerprint_changes_with_the_image_set(small_image_folder: Path) -> None:
    manifest = build_manifest(small_image_folder, [".jpg"])
    assert manifest_fingerprint(manifest) == manifest_fingerprint(manifest.copy())
    assert manifest_fingerprint(manifest) != manifest_fingerprint(manifest.iloc[1:])


def test_missing_listed_file_is_named(small_image_folder: Path, tmp_path: Path) -> None:
    file_list = tmp_path / "list.txt"
    names = sorted(p.name for p in small_image_folder.iterdir())
    file_list.write_text("\n".join(names[:3] + ["not_there.jpg"]) + "\n")
    with pytest.raises(FileNotFoundError, match="not_there.jpg"):
        build_manifest(small_image_folder, [".jpg"], file_list)
    file_list.write_text("\n".join(names[:3]) + "\n")
    assert list(build_manifest(small_image_folder, [".jpg"], file_list)["path"]) == names[:3]


def test_missing_root_names_the_config_key(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="images.root"):
        build_manifest(tmp_path / "absent", [".jpg"])


def test_unreadable_image_is_flagged_not_fatal(small_image_folder: Path) -> None:
    paths = sorted(p.name for p in small_image_folder.iterdir())
    (small_image_folder / paths[1]).write_bytes(b"not a jpeg")
    dataset = ImageDataset(small_image_folder, paths, lambda im: torch.ones(3, 4, 4), (3, 4, 4))
    assert dataset[0][2] is True
    tensor, index, ok = dataset[1]
    assert ok is False and index == 1 and tensor.shape == (3, 4, 4)
    (small_image_folder / paths[2]).unlink()
    with pytest.raises(FileNotFoundError, match=paths[2]):
        dataset[2]
