"""Reading images through a model's transform, in manifest order."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError

log = logging.getLogger(__name__)


class ImageDataset(torch.utils.data.Dataset):
    """Images of a manifest as tensors. An undecodable image yields ``ok=False`` (it is skipped and
    counted by the caller); a missing file is an error, since the dataset changed under the manifest."""

    def __init__(self, root: str | Path, paths: Sequence[str], transform: Callable[[Image.Image], torch.Tensor], input_size: Sequence[int]):
        self.root = Path(root)
        self.paths = list(paths)
        self.transform = transform
        self.input_size = tuple(input_size)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, bool]:
        path = self.root / self.paths[index]
        if not path.is_file():
            raise FileNotFoundError(f"image file not found: {path}")
        try:
            with Image.open(path) as image:
                tensor = self.transform(image.convert("RGB"))
            return tensor, index, True
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            log.warning("skipping unreadable image %s: %s", path, error)
            return torch.zeros(self.input_size), index, False


def image_loader(dataset: ImageDataset, batch_size: int, num_workers: int) -> torch.utils.data.DataLoader:
    """Ordered (unshuffled) batches, so that results do not depend on worker scheduling."""
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
