"""The image set as a manifest of files: which images, in which (stable) order, of which category."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from mis.storage import write_table

MANIFEST_COLUMNS = ["image", "path", "category", "bytes"]


def list_image_files(root: Path, extensions: Sequence[str]) -> list[str]:
    """All image files below ``root`` (relative paths, sorted so the index is stable)."""
    suffixes = {e.lower() for e in extensions}
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in suffixes
    )


def category_of(relpath: str) -> str:
    """Category of an image: its parent folder (class-folder trees) or, for a flat folder, the
    file-name prefix before the last underscore (the demo photos keep their source category there)."""
    path = Path(relpath)
    if len(path.parts) > 1:
        return path.parts[-2]
    stem = path.stem
    return stem.rsplit("_", 1)[0] if "_" in stem else stem


def build_manifest(root: str | Path, extensions: Sequence[str], file_list: str | Path | None = None) -> pd.DataFrame:
    """Index the image set. Every listed file must exist and be non-empty; the error names the file.

    ``file_list`` (optional) is a text file with one path relative to ``root`` per line; without it
    every image file below ``root`` is used.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image root folder not found: {root} (config key 'images.root')")
    if file_list is not None:
        lines = Path(file_list).read_text().splitlines()
        relpaths = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    else:
        relpaths = list_image_files(root, extensions)
    if not relpaths:
        raise ValueError(f"no images with extensions {list(extensions)} found below {root}")
    sizes = []
    for rel in relpaths:
        path = root / rel
        if not path.is_file():
            raise FileNotFoundError(f"image file not found: {path}")
        size = path.stat().st_size
        if size == 0:
            raise ValueError(f"image file is empty: {path}")
        sizes.append(size)
    return pd.DataFrame(
        {
            "image": range(len(relpaths)),
            "path": relpaths,
            "category": [category_of(r) for r in relpaths],
            "bytes": sizes,
        }
    )


def manifest_fingerprint(manifest: pd.DataFrame) -> str:
    """A short hash of the image list (paths and sizes): records which dataset a result came from."""
    digest = hashlib.sha256()
    for path, size in zip(manifest["path"], manifest["bytes"]):
        digest.update(f"{path}\t{size}\n".encode())
    return digest.hexdigest()[:16]


def write_manifest(images: dict, manifest_path: str | os.PathLike) -> pd.DataFrame:
    """Index the image set of the config section ``images`` into a manifest table."""
    manifest = build_manifest(images["root"], images["extensions"], images.get("file_list"))
    write_table(manifest, manifest_path)
    return manifest
