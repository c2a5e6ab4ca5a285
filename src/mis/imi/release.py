"""Where things are in the unpacked IMI release (method.md §4), without the download machinery:
what the stage needs is found below the data folder at most ``SEARCH_DEPTH`` folders deep, so an
archive that wraps its content in a top folder is fine."""

from __future__ import annotations

import json
import os
from pathlib import Path

RESPONSES = "human_responses/responses_{table}.csv"
FILE_MAP = "image_data/imagenet_exemplars_file_map.json"
SEARCH_DEPTH = 2  # folders between the data folder and a needed path (an archive's own top folder)


class DatasetError(RuntimeError):
    """A dataset file is missing, unverified or damaged; the message says what to do."""


def locate(data_dir: Path, relative: str) -> Path | None:
    """``relative`` below ``data_dir``, directly or up to ``SEARCH_DEPTH`` folders deeper; two
    matches are an error (which one is the release's is unclear)."""
    found = [
        p for depth in range(SEARCH_DEPTH + 1) for p in sorted(data_dir.glob("/".join(["*"] * depth + [relative])))
    ]
    if len(found) > 1:
        raise DatasetError(f"{relative} is found twice below {data_dir}: {[str(p) for p in found]}; remove one")
    return found[0] if found else None


def dataset_path(report_path: str | os.PathLike, relative: str) -> Path:
    """A path of the release from the report of ``download_imi`` (found there, or below its data folder)."""
    with open(report_path) as handle:
        report = json.load(handle)
    if relative in report["located"]:
        return Path(report["located"][relative])
    path = locate(Path(report["data_dir"]), relative)
    if path is None:
        raise DatasetError(f"{relative} not found below {report['data_dir']} (the IMI release, see {report_path})")
    return path


def stimuli_source(
    trials_from: str, report_path: str | os.PathLike, imagenet_train: str | os.PathLike, stimuli_dir: str | None
) -> tuple[Path | None, Path]:
    """(the file map, if the trials come from it; the folder the units' image paths are relative
    to): ImageNet-train for ``file_map``, else the stimulus folder, which is the release's own
    image folder (the file map's) unless ``imi.stimuli_dir`` names another. One answer for every
    stage that reads the IMI images."""
    if trials_from == "file_map":
        return dataset_path(report_path, FILE_MAP), Path(imagenet_train)
    if stimuli_dir:
        return None, Path(stimuli_dir)
    return None, dataset_path(report_path, FILE_MAP).parent
