"""Where third-party weights come from: a local folder, never the network, or a seeded random
initialisation (tests build the architectures without any file).

dreamsim, lpips and DISTS_pytorch fetch their backbones through torch.hub (directly or through
torchvision), which reads ``<hub dir>/checkpoints/<file>`` when present and downloads it otherwise.
The builders check the files first and name the missing ones; while a model is built, torch.hub
points at the configured folder and a download attempt is an error instead of a silent fetch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from unittest import mock
from urllib.parse import urlparse

import torch

from mis.models import WeightsError


def checkpoint_name(url: str) -> str:
    """The file name torch.hub caches a download under (the last part of its URL)."""
    return Path(urlparse(url).path).name


def missing(folder: Path, required: Sequence[tuple[str, ...]]) -> list[str]:
    """The requirements not met in ``folder``; each is a tuple of alternative relative paths, met
    when one of them is a file."""
    return [" or ".join(options) for options in required if not any((folder / option).is_file() for option in options)]


def _refuse_download(url: str, dst: str, *args, **kwargs) -> None:
    raise WeightsError(f"refusing to download {url} to {dst}: weights are read from local files only")


@contextmanager
def offline_torch_hub(folder: Path) -> Iterator[None]:
    """torch.hub reads from ``folder`` and cannot download. Its folder setting is restored exactly
    after, unset included (dreamsim calls ``torch.hub.set_dir`` itself; ``set_dir(get_dir())`` would
    pin the folder and ignore a later TORCH_HOME)."""
    with (
        mock.patch.object(torch.hub, "_hub_dir", str(folder)),
        mock.patch.object(torch.hub, "download_url_to_file", _refuse_download),
    ):
        yield


@contextmanager
def seeded(seed: int = 0) -> Iterator[None]:
    """Reproducible random initialisation that leaves the global random state as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
