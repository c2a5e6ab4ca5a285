"""The image set as a manifest: which images, in which (stable) order, of which category.

An image is named by one path relative to ``images.root``, either a file (a flat folder or a class-folder
tree such as ``train/n01440764/n01440764_10026.JPEG``) or a member of an uncompressed tar shard, named
by the shard's path and the member's name (``shard-000.tar/n01440764_10026.jpg``). One string per image
keeps the manifest, file lists, logs and errors in one vocabulary, and the fingerprint covers shard and
member names alike.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mis.settings import ImageSettings

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = ["image", "path", "category", "bytes"]
FORMATS = ("auto", "folder", "tar")
SHARD_SUFFIX = ".tar"
TAR_BLOCK = 512
Row = tuple[str, str, int]  # path, category, bytes


def split_member(path: str) -> tuple[str, str] | None:
    """(shard, member) if ``path`` names a tar member, i.e. a folder part of it ends in ``.tar``."""
    end = path.lower().find(SHARD_SUFFIX + "/")
    if end < 0:
        return None
    end += len(SHARD_SUFFIX)
    return path[:end], path[end + 1 :]


def category_of(relpath: str) -> str:
    """Category of an image: its parent folder (class-folder trees) or, for a flat folder, the
    file-name prefix before the last underscore (the demo photos keep their source category there).
    String operations, not ``Path``: this runs once per image of sets with millions."""
    folder, _, name = relpath.rpartition("/")
    if folder:
        return folder.rpartition("/")[2]
    stem = os.path.splitext(name)[0]
    return stem.rsplit("_", 1)[0] if "_" in stem else stem


def sample_key(member: str) -> tuple[str, str]:
    """(key, extension) as WebDataset groups a sample's members: the name up to the file name's first dot."""
    folder, slash, name = member.rpartition("/")
    stem, _, extension = name.partition(".")
    return folder + slash + stem, extension


def scan_files(root: str, suffixes: set[str]) -> list[tuple[str, int, int]]:
    """(relative path, bytes, modification time in ns) of every file below ``root`` with a (lower-case)
    suffix in ``suffixes``, sorted so that the index is stable. One ``os.scandir`` walk and one ``stat``
    per kept file: ``Path.rglob`` plus ``is_file`` and ``stat`` costs several system calls and objects
    per file."""
    found = []
    folders = [""]
    while folders:
        folder = folders.pop()
        with os.scandir(os.path.join(root, folder)) as entries:
            for entry in entries:
                relpath = folder + entry.name
                if entry.is_dir(follow_symlinks=False):
                    folders.append(relpath + "/")
                elif os.path.splitext(entry.name)[1].lower() in suffixes and entry.is_file():
                    info = entry.stat()
                    found.append((relpath, info.st_size, info.st_mtime_ns))
    found.sort()
    return found


@dataclass
class ShardContents:
    """The regular-file members of one shard (name -> bytes, in archive order) and the class labels of
    its WebDataset ``.cls`` sidecars (sample key -> label)."""

    path: str
    sizes: dict[str, int]
    labels: dict[str, str]

    def category(self, member: str) -> str:
        """The sample's ``.cls`` label if it has one, else the member's folder or prefix."""
        return self.labels.get(sample_key(member)[0]) or category_of(member)

    def size(self, member: str) -> int:
        if member not in self.sizes:
            raise FileNotFoundError(f"image file not found: {self.path}/{member} (no such member in the shard)")
        return self.sizes[member]


def index_members(tar: tarfile.TarFile, path: str | os.PathLike) -> tuple[list[tarfile.TarInfo], bool]:
    """The regular-file members of an open shard in archive order, from one pass over its headers,
    and whether the pass reached the end. A shard cut short or with a corrupt header keeps the members
    before the damage; the damage is logged, since the members behind it are unreadable, not absent."""
    members = []
    try:
        for info in tar:
            if info.isfile():
                members.append(info)
    except tarfile.ReadError as error:
        log.warning("tar shard %s is damaged at byte %d (%s): later members are unreadable", path, tar.offset, error)
        return members, False
    tar.fileobj.seek(tar.offset)
    if tar.fileobj.read(TAR_BLOCK).strip(b"\0"):  # tarfile stops silently at a corrupt header
        log.warning("tar shard %s has a corrupt header at byte %d: later members are unreadable", path, tar.offset)
        return members, False
    return members, True


def read_shard(path: str) -> ShardContents:
    """Index one shard (reading only the small ``.cls`` members)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"image shard not found: {path}")
    sizes, labels = {}, {}
    try:
        with tarfile.open(path, mode="r:") as tar:
            for info in index_members(tar, path)[0]:
                key, extension = sample_key(info.name)
                if extension == "cls":
                    labels[key] = tar.extractfile(info).read().decode().strip()
                else:
                    sizes[info.name] = info.size
    except (tarfile.TarError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot index tar shard {path} (an uncompressed .tar is needed): {error}") from error
    return ShardContents(path, sizes, labels)


def shard_rows(root: str, shard: str, suffixes: set[str]) -> list[Row]:
    """Rows of the image members of one shard, in archive order."""
    contents = read_shard(os.path.join(root, shard))
    return [
        (f"{shard}/{member}", contents.category(member), size)
        for member, size in contents.sizes.items()
        if os.path.splitext(member)[1].lower() in suffixes
    ]


def resolve_format(requested: str, has_images: bool, has_shards: bool, root: str) -> str:
    """``auto`` reads tar shards if ``root`` holds some and image files otherwise; both is ambiguous."""
    if requested not in FORMATS:
        raise ValueError(f"unknown image format '{requested}' (config key 'images.format': one of {list(FORMATS)})")
    if requested != "auto":
        return requested
    if has_images and has_shards:
        raise ValueError(
            f"{root} holds both image files and {SHARD_SUFFIX} shards; "
            "set config key 'images.format' to 'folder' or 'tar'"
        )
    return "tar" if has_shards else "folder"


def discovered_rows(root: str, extensions: Sequence[str], image_format: str) -> list[Row]:
    """Rows of every image file, or every image member of every shard, below ``root``."""
    suffixes = {e.lower() for e in extensions}
    files = scan_files(root, suffixes | {SHARD_SUFFIX})
    shards = [path for path, _, _ in files if path.lower().endswith(SHARD_SUFFIX)]
    images = [(path, size) for path, size, _ in files if not path.lower().endswith(SHARD_SUFFIX)]
    if resolve_format(image_format, bool(images), bool(shards), root) == "tar":
        return [row for shard in shards for row in shard_rows(root, shard, suffixes)]
    misnamed = next((path for path, _ in images if split_member(path)), None)
    if misnamed:
        raise ValueError(f"folder name ending in {SHARD_SUFFIX} in {root}/{misnamed}: it would name a shard; rename it")
    return [(path, category_of(path), size) for path, size in images]


def file_size(path: str) -> int:
    """Bytes of a regular file; the error names a missing one."""
    try:
        info = os.stat(path)
    except OSError:
        info = None
    if info is None or not stat.S_ISREG(info.st_mode):
        raise FileNotFoundError(f"image file not found: {path}")
    return info.st_size


def listed_rows(root: str, entries: Iterable[str]) -> list[Row]:
    """Rows of the files and shard members a file list names, in its order (each shard indexed once)."""
    shards: dict[str, ShardContents] = {}
    rows = []
    for entry in entries:
        located = split_member(entry)
        if located is None:
            rows.append((entry, category_of(entry), file_size(os.path.join(root, entry))))
            continue
        shard, member = located
        if shard not in shards:
            shards[shard] = read_shard(os.path.join(root, shard))
        rows.append((entry, shards[shard].category(member), shards[shard].size(member)))
    return rows


def read_file_list(file_list: str | Path) -> list[str]:
    """Paths relative to ``images.root``, one per line; blank lines and ``#`` comments are ignored."""
    if not Path(file_list).is_file():
        raise FileNotFoundError(f"image file list not found: {file_list} (config key 'images.file_list')")
    lines = Path(file_list).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def build_manifest(
    root: str | Path, extensions: Sequence[str], file_list: str | Path | None = None, image_format: str = "auto"
) -> pd.DataFrame:
    """Index the image set. Every listed file or member must exist and be non-empty; the error names it.

    ``file_list`` (optional) is a text file with one path relative to ``root`` per line (a file, or
    ``<shard>.tar/<member>``); without it every image below ``root`` is used: image files for
    ``image_format`` ``folder``, image members of the ``*.tar`` shards for ``tar``, whichever is there for ``auto``.
    """
    if not Path(root).is_dir():
        raise FileNotFoundError(f"image root folder not found: {root} (config key 'images.root')")
    root = str(root)
    if file_list is not None:
        rows = listed_rows(root, read_file_list(file_list))
    else:
        rows = discovered_rows(root, extensions, image_format)
    if not rows:
        raise ValueError(f"no images with extensions {list(extensions)} found below {root}")
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS[1:])
    empty = manifest["bytes"] == 0
    if empty.any():
        raise ValueError(f"image file is empty: {os.path.join(root, manifest['path'][empty.idxmax()])}")
    manifest.insert(0, "image", range(len(manifest)))
    return manifest


def manifest_fingerprint(manifest: pd.DataFrame) -> str:
    """A short hash of the image list (paths and sizes; for a tar member, shard and member name and the
    member's size): records which dataset a result came from."""
    digest = hashlib.sha256()
    for path, size in zip(manifest["path"], manifest["bytes"]):
        digest.update(f"{path}\t{size}\n".encode())
    return digest.hexdigest()[:16]


def image_set_signature(images: ImageSettings) -> str:
    """A hash of what the config section ``images`` names, as the file system has it now: the path,
    size and modification time of every image file or tar shard below the root (a file list: its
    text, and each listed file's or shard's size and time). Snakemake re-runs ``prepare_images``
    when it changes, so adding, removing, replacing or touching an image rebuilds the manifest and
    everything after it. One ``stat`` per file, like the manifest itself. A root or file list that
    does not exist (yet) gives ``absent``."""
    root = images.root
    if not os.path.isdir(root):
        return "absent"  # prepare_images, if it runs, fails naming the key; a dry run still plans
    digest = hashlib.sha256(repr(sorted((k, str(v)) for k, v in images.params().items())).encode())
    if images.file_list is None:
        suffixes = {e.lower() for e in images.extensions} | {SHARD_SUFFIX}
        entries: Iterable[tuple[str, int, int]] = scan_files(root, suffixes)
    else:
        file_list = Path(images.file_list)
        if not file_list.is_file():
            return "absent"
        digest.update(file_list.read_bytes())
        files = dict.fromkeys((split_member(entry) or (entry,))[0] for entry in read_file_list(file_list))
        entries = (listed_file_state(root, path) for path in files)
    for path, size, mtime in entries:
        digest.update(f"{path}\t{size}\t{mtime}\n".encode())
    return digest.hexdigest()[:16]


def listed_file_state(root: str, path: str) -> tuple[str, int, int]:
    """(path, bytes, modification time in ns) of a listed file or shard; -1s for a missing one,
    which ``prepare_images`` then reports by name."""
    try:
        info = os.stat(os.path.join(root, path))
    except OSError:
        return path, -1, -1
    return path, info.st_size, info.st_mtime_ns
