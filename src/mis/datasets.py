"""Reading images through a model's transform, in manifest order, from files or tar shard members."""

from __future__ import annotations

import io
import logging
import os
import tarfile
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image, ImageCms, UnidentifiedImageError

from mis.images import index_members, split_member

log = logging.getLogger(__name__)

MAX_OPEN_SHARDS = 8
BACKGROUND = (255, 255, 255, 255)  # behind transparent pixels
ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
SRGB = ImageCms.createProfile("sRGB")
DECODERS = ("pil", "torchvision")
JPEG_MAGIC = b"\xff\xd8\xff"
# Eval transforms resize the shorter side to the input's: an image whose sides differ more than
# this many times would be resized to over this many times the input's pixels (a 60000×1 PNG of
# 260 bytes to a 12 GB image), so it is skipped as unreadable.
MAX_ASPECT = 64


class PathologicalImage(OSError):
    """An image the transforms cannot take (its shape): skipped like an unreadable one."""


def check_shape(width: int, height: int) -> None:
    """Raise PathologicalImage for an empty image or sides further apart than MAX_ASPECT."""
    if min(width, height) < 1:
        raise PathologicalImage(f"it has no pixels ({width}×{height})")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise PathologicalImage(
            f"its sides, {width}×{height}, differ more than {MAX_ASPECT} times: resized for the model it "
            f"would hold over {MAX_ASPECT} times the input's pixels"
        )


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB of an image in any mode Pillow reads. ``convert("RGB")`` alone clips 16- and 32-bit
    integer and float images at 255 (a 16-bit PNG turns white) and keeps whatever colour a
    transparent pixel happens to store. Here 16-bit (``I;16*``) and 32-bit integer (``I``, taken to
    hold 16-bit values, as Pillow reads 16-bit files) are scaled by 255/65535, float (``F``) is taken
    to lie in [0, 1], transparent pixels are composited over white, and CMYK with an embedded ICC
    profile goes through that profile (without one, Pillow's conversion)."""
    mode = image.mode
    if mode == "I" or mode.startswith("I;16"):
        gray = np.asarray(image, dtype=np.float64) * (255 / 65535)
        image = Image.fromarray(np.clip(np.round(gray), 0, 255).astype(np.uint8), "L")
    elif mode == "F":
        gray = np.nan_to_num(np.asarray(image, dtype=np.float64)) * 255
        image = Image.fromarray(np.clip(np.round(gray), 0, 255).astype(np.uint8), "L")
    elif mode == "CMYK" and image.info.get("icc_profile"):
        source = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
        image = ImageCms.profileToProfile(image, source, SRGB, outputMode="RGB")
    if mode in ALPHA_MODES or "transparency" in image.info:
        rgba = (image.convert("LA") if mode == "La" else image).convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, BACKGROUND), rgba)
    return image.convert("RGB")


class ShardIndex(NamedTuple):
    """An open shard, its members by name, and whether they could all be indexed."""

    tar: tarfile.TarFile
    members: dict[str, tarfile.TarInfo]
    complete: bool


class ShardCache:
    """Open tar shards of one process, each indexed (member name -> header) once when opened, so that a
    member is read by one seek instead of a scan. At most ``max_open`` stay open, least recently used
    closed first: a pass in manifest order needs one at a time, and thousands would exhaust file
    handles and memory. Nothing is opened before the first read, and a process that did not open a
    handle never uses it (a forked DataLoader worker would share the file offset with its parent)."""

    def __init__(self, max_open: int = MAX_OPEN_SHARDS) -> None:
        self.max_open = max_open
        self._pid = os.getpid()
        self._open: OrderedDict[Path, ShardIndex] = OrderedDict()

    def read(self, shard: Path, member: str) -> bytes:
        """The bytes of one member; a missing shard or member is an error naming it, a member behind
        damage in the shard a ``tarfile.ReadError`` (unreadable, like a corrupt image)."""
        index = self._shard(shard)
        if member in index.members:
            return index.tar.extractfile(index.members[member]).read()
        if index.complete:
            raise FileNotFoundError(f"image file not found: {shard}/{member} (no such member in the shard)")
        raise tarfile.ReadError(f"{shard} is damaged before member {member}")

    def _shard(self, shard: Path) -> ShardIndex:
        if self._pid != os.getpid():
            self._pid, self._open = os.getpid(), OrderedDict()
        if shard in self._open:
            self._open.move_to_end(shard)
            return self._open[shard]
        if not shard.is_file():
            raise FileNotFoundError(f"image shard not found: {shard}")
        tar = tarfile.open(shard, mode="r:")
        members, complete = index_members(tar, shard)
        self._open[shard] = ShardIndex(tar, {info.name: info for info in members}, complete)
        if len(self._open) > self.max_open:
            self._open.popitem(last=False)[1].tar.close()
        return self._open[shard]

    def __getstate__(self) -> dict:
        """Open files do not cross processes (DataLoader workers started by spawn)."""
        return {"max_open": self.max_open}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)


def tensor_transform(transform: Callable) -> Callable[[torch.Tensor], torch.Tensor]:
    """A model's PIL eval transform (Resize, CenterCrop, ToTensor, Normalize) as the same torchvision
    transforms on a decoded uint8 (3, H, W) tensor, ToTensor becoming a conversion to float in [0, 1].
    Resizing a tensor rounds and antialiases slightly differently from Pillow, so pixels differ by a
    few 8-bit levels (bounded in tests/test_images.py; measured in benchmarks/README.md)."""
    from torchvision import transforms  # only where the fast decoder is used

    steps = transform.transforms if isinstance(transform, transforms.Compose) else [transform]
    tensor_steps = []
    for step in steps:
        if isinstance(step, (transforms.Resize, transforms.CenterCrop, transforms.Normalize)):
            tensor_steps.append(step)
        elif type(step).__name__ in ("ToTensor", "MaybeToTensor"):  # timm's passes tensors through unscaled
            tensor_steps.append(transforms.ConvertImageDtype(torch.float32))
        else:
            raise ValueError(
                f"decoder 'torchvision' cannot apply the model's transform step {step!r} to a tensor; "
                "use decoder 'pil' (config key 'extraction.decoder')"
            )
    return transforms.Compose(tensor_steps)


class ImageDataset(torch.utils.data.Dataset):
    """Images of a manifest as tensors. An undecodable image or tar member, one larger than Pillow's
    decompression-bomb limit, or one whose sides differ more than MAX_ASPECT times, yields
    ``ok=False`` (it is skipped and counted by the caller, and logged here by name); a missing file,
    shard or member is an error, since the dataset changed under the manifest.

    ``decoder="torchvision"`` decodes JPEGs with ``torchvision.io.decode_jpeg`` and applies the
    transform to the uint8 tensor (``tensor_transform``): about twice as fast as Pillow on CPU.
    Other formats, and JPEGs it cannot decode, take the Pillow path (``to_rgb`` and the transform)."""

    def __init__(
        self,
        root: str | Path,
        paths: Sequence[str],
        transform: Callable[[Image.Image], torch.Tensor],
        input_size: Sequence[int],
        decoder: str = "pil",
    ):
        if decoder not in DECODERS:
            raise ValueError(f"unknown decoder '{decoder}' (config key 'extraction.decoder': one of {list(DECODERS)})")
        self.root = Path(root)
        self.paths = list(paths)
        self.transform = transform
        self.decoder = decoder
        self.tensor_transform = tensor_transform(transform) if decoder == "torchvision" else None
        self.input_size = tuple(input_size)
        self.shards = ShardCache()

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, bool]:
        path = self.paths[index]
        if self.tensor_transform is not None:
            tensor = self._decoded_jpeg(path)
            if tensor is not None:
                return tensor, index, True
        try:
            with self._open_image(path) as image:
                check_shape(*image.size)
                tensor = self.transform(to_rgb(image))
            return tensor, index, True
        except FileNotFoundError:
            raise
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, tarfile.TarError) as error:
            log.warning("skipping unreadable image %s: %s", self.root / path, error)
            return torch.zeros(self.input_size), index, False

    def _decoded_jpeg(self, path: str) -> torch.Tensor | None:
        """The transformed image if it is a JPEG that torchvision decodes, else None (Pillow then reads
        it, and reports it if it is unreadable)."""
        from torchvision.io import ImageReadMode, decode_jpeg

        try:
            data = self._read_bytes(path)
        except FileNotFoundError:
            raise
        except (OSError, tarfile.TarError):
            return None
        if not data.startswith(JPEG_MAGIC):
            return None
        try:
            image = decode_jpeg(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=ImageReadMode.RGB)
        except RuntimeError:
            return None
        if max(image.shape[1:]) > MAX_ASPECT * min(image.shape[1:]):
            return None  # Pillow's path reports it
        return self.tensor_transform(image)

    def _read_bytes(self, path: str) -> bytes:
        """The bytes of the file or shard member a manifest path names."""
        located = split_member(path)
        if located is None:
            file = self.root / path
            if not file.is_file():
                raise FileNotFoundError(f"image file not found: {file}")
            return file.read_bytes()
        shard, member = located
        return self.shards.read(self.root / shard, member)

    def _open_image(self, path: str) -> Image.Image:
        """The image a manifest path names: a file below the root, or a member of a shard there."""
        return Image.open(io.BytesIO(self._read_bytes(path)))


def image_loader(dataset: torch.utils.data.Dataset, batch_size: int, num_workers: int) -> torch.utils.data.DataLoader:
    """Ordered (unshuffled) batches, so that results do not depend on worker scheduling."""
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
