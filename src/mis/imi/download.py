"""The files of the IMI record, downloaded or placed by hand, never used unverified unless asked.

The record's files and their SHA-256 live in one data file, the manifest (``config/imi_files.yaml``,
config key ``imi.manifest``), because the record's listing could not be read when this was written.
A file whose checksum the manifest does not pin is refused unless ``imi.allow_unverified`` is true;
then its computed SHA-256 is logged (and written to the report) so that it can be pinned.

A download goes to ``<name>.part`` and resumes from it (HTTP Range) after an interruption; the file
gets its name only once complete and verified, so a checksum mismatch leaves no file behind. A host
that cannot be reached fails at once (``imi.timeout``) with the folder and file names to place by
hand. An archive with ``extract: <folder>`` is unpacked into ``<data folder>/<folder>`` atomically,
with a marker holding the archive's checksum, so a finished unpacking is never repeated.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import yaml

from mis.storage import atomic_directory, sha256_of, write_json

log = logging.getLogger(__name__)
SHA256 = re.compile(r"[0-9a-f]{64}")
MARKER = ".unpacked-from.sha256"
CHUNK = 1 << 20


class DatasetError(RuntimeError):
    """A dataset file is missing, unverified or damaged; the message says what to do."""


@dataclass(frozen=True)
class ManifestFile:
    name: str
    sha256: str | None  # None: not pinned yet
    extract: str | None  # archives: the folder below the data folder they unpack into


@dataclass(frozen=True)
class Manifest:
    path: Path
    record: str
    url_template: str  # with {name}
    files: tuple[ManifestFile, ...]

    def url(self, name: str) -> str:
        return self.url_template.format(name=quote(name))

    @property
    def record_url(self) -> str:
        return f"https://zenodo.org/records/{self.record}"


def read_manifest(path: str | os.PathLike) -> Manifest:
    """The manifest, checked entry by entry (errors name the file and the entry)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"IMI manifest not found: {path} (config key 'imi.manifest')")
    content = yaml.safe_load(path.read_text()) or {}
    for key in ("record", "url_template", "files"):
        if key not in content:
            raise DatasetError(f"{path}: missing top-level key '{key}'")
    if "{name}" not in content["url_template"]:
        raise DatasetError(f"{path}: url_template must contain {{name}}")
    files = []
    for position, entry in enumerate(content["files"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or "/" in entry["name"]:
            raise DatasetError(f"{path}: files[{position}] needs a plain file name under 'name'")
        digest = entry.get("sha256")
        if digest is not None and not (isinstance(digest, str) and SHA256.fullmatch(digest)):
            raise DatasetError(f"{path}: files[{position}] ({entry['name']}): sha256 must be 64 lowercase hex or null")
        extract = entry.get("extract")
        if extract is not None and (not isinstance(extract, str) or "/" in extract or extract.startswith(".")):
            raise DatasetError(f"{path}: files[{position}] ({entry['name']}): extract must be a plain folder name")
        files.append(ManifestFile(entry["name"], digest, extract))
    if len({f.name for f in files}) != len(files):
        raise DatasetError(f"{path}: a file name is listed twice")
    return Manifest(path, str(content["record"]), content["url_template"], tuple(files))


def place_by_hand(manifest: Manifest, data_dir: Path) -> str:
    """How to supply the files without network: the folder and the file names."""
    names = ", ".join(f.name for f in manifest.files)
    archives = [f for f in manifest.files if f.extract]
    text = (
        f"Without network, download the files of Zenodo record {manifest.record} ({manifest.record_url}) on a "
        f"machine with access and place them in {data_dir.resolve()}/ (config key 'imi.data_dir'): {names} "
        f"(names as listed in {manifest.path})"
    )
    if archives:
        folders = ", ".join(f"{f.extract}/ for {f.name}" for f in archives)
        text += f"; an archive may instead be placed unpacked ({folders}), which needs imi.allow_unverified: true"
    return text + "."


def download(url: str, target: Path, expected: str | None, timeout: float, hint: str) -> str:
    """Fetch ``url`` to ``target`` through ``<target>.part``, resuming a previous part; return the
    SHA-256. A mismatch with ``expected`` deletes the download and raises."""
    part = target.with_name(target.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            resumed = offset > 0 and getattr(response, "status", None) == 206
            log.info("downloading %s to %s%s", url, part, f" (resuming at byte {offset})" if resumed else "")
            with open(part, "ab" if resumed else "wb") as out:
                shutil.copyfileobj(response, out, CHUNK)
    except urllib.error.HTTPError as error:
        if not (error.code == 416 and offset):  # 416 on a resume: the part is complete already
            raise DatasetError(f"could not download {url}: HTTP {error.code} {error.reason}. {hint}") from error
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:  # offline, timeout, cut off
        reason = getattr(error, "reason", error)
        kept = " The partial download is kept and resumed by the next run." if part.is_file() else ""
        raise DatasetError(f"could not download {url}: {reason}.{kept} {hint}") from error
    actual = sha256_of(part)
    if expected is not None and actual != expected:
        part.unlink()
        raise DatasetError(
            f"checksum mismatch for {url}: expected sha256 {expected}, got {actual}; the download was deleted "
            f"and {target} not written. Rerun to download it again, or check the checksum in the manifest."
        )
    os.replace(part, target)
    return actual


def check(entry: ManifestFile, actual: str, allow_unverified: bool, what: Path, manifest: Manifest) -> bool:
    """Whether ``actual`` is the pinned checksum; raise on a mismatch, or on an unpinned checksum
    unless unverified files are allowed (then log the checksum so that it can be pinned)."""
    if entry.sha256 is None:
        if not allow_unverified:
            raise DatasetError(
                f"{what}: {manifest.path} pins no sha256 for {entry.name}; its sha256 is {actual}. Check it against "
                f"{manifest.record_url} and pin it in the manifest, or set imi.allow_unverified: true to use it unverified."
            )
        log.warning("UNVERIFIED %s (imi.allow_unverified is true): sha256 %s; pin it in %s", what, actual, manifest.path)
        return False
    if actual != entry.sha256:
        raise DatasetError(f"checksum mismatch for {what}: expected sha256 {entry.sha256} ({manifest.path}), got {actual}")
    return True


def unpack(archive: Path, folder: Path, digest: str) -> None:
    """Unpack a zip or tar archive into ``folder`` atomically (a failed unpack leaves no folder), with
    a marker naming the archive's sha256. Members escaping the folder are refused."""
    with atomic_directory(folder) as tmp:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zipped:
                for name in zipped.namelist():
                    member = PurePosixPath(name)
                    if member.is_absolute() or ".." in member.parts:
                        raise DatasetError(f"{archive}: member {name!r} would be written outside {folder}")
                zipped.extractall(tmp)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
        else:
            raise DatasetError(f"{archive} is neither a zip nor a tar archive, but the manifest asks to unpack it")
        (tmp / MARKER).write_text(digest + "\n")
    log.info("unpacked %s into %s", archive, folder)


def _unpacked(entry: ManifestFile, data_dir: Path) -> bool:
    return entry.extract is not None and (data_dir / entry.extract).is_dir()


def _unpacked_from(folder: Path) -> str | None:
    marker = folder / MARKER
    return marker.read_text().strip() if marker.is_file() else None


def settle(
    entry: ManifestFile, data_dir: Path, allow_unverified: bool, manifest: Manifest, known: dict[str, str]
) -> dict[str, Any]:
    """Verify one present file (and unpack it when asked); its report entry."""
    archive = data_dir / entry.name
    folder = data_dir / entry.extract if entry.extract else None
    if folder is not None and folder.is_dir():
        source = _unpacked_from(folder)
        if source is None:  # placed by hand
            if not allow_unverified:
                raise DatasetError(
                    f"{folder} was not unpacked from a verified {entry.name}: remove it to unpack the archive, or "
                    "set imi.allow_unverified: true to use the folder as it is"
                )
            log.warning("UNVERIFIED folder %s used as it is (imi.allow_unverified is true)", folder)
            return {"name": entry.name, "folder": str(folder), "sha256": None, "verified": False}
        if entry.sha256 is not None and source != entry.sha256:
            raise DatasetError(
                f"{folder} was unpacked from an archive with sha256 {source}, not the pinned {entry.sha256} "
                f"({manifest.path}): remove it to unpack {entry.name} again"
            )
        verified = check(entry, source, allow_unverified, folder, manifest)
        return {"name": entry.name, "folder": str(folder), "sha256": source, "verified": verified}
    digest = known.get(entry.name) or sha256_of(archive)
    verified = check(entry, digest, allow_unverified, archive, manifest)
    record = {"name": entry.name, "path": str(archive), "sha256": digest, "verified": verified}
    if folder is not None:
        unpack(archive, folder, digest)
        record["folder"] = str(folder)
    return record


def fetch_dataset(
    manifest_path: str | os.PathLike,
    data_dir: str | os.PathLike,
    allow_unverified: bool,
    timeout: float,
    report_path: str | os.PathLike,
) -> dict[str, Any]:
    """Make every manifest file available in ``data_dir``, verified: missing ones are downloaded,
    present ones (placed by hand) checked. Writes a report of what was verified."""
    manifest = read_manifest(manifest_path)
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    hint = place_by_hand(manifest, data_dir)
    missing = [f for f in manifest.files if not (data_dir / f.name).is_file() and not _unpacked(f, data_dir)]
    unpinned = [f.name for f in missing if f.sha256 is None]
    if unpinned and not allow_unverified:
        raise DatasetError(
            f"{manifest.path} pins no sha256 for {', '.join(unpinned)}: refusing to download unverified files. Pin "
            f"the checksums listed on {manifest.record_url} in the manifest, or set imi.allow_unverified: true to "
            f"download them anyway (their computed sha256 is logged so that it can be pinned). {hint}"
        )
    known = {f.name: download(manifest.url(f.name), data_dir / f.name, f.sha256, timeout, hint) for f in missing}
    report = {
        "record": manifest.record,
        "manifest": str(manifest.path),
        "data_dir": str(data_dir),
        "files": [settle(f, data_dir, allow_unverified, manifest, known) for f in manifest.files],
    }
    write_json(report_path, report)
    return report
