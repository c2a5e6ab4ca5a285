"""The IMI release, fetched from its Zenodo record with pooch and unpacked safely.

pooch's DOI route (``load_registry_from_doi``) reads the record's file list and checksums from
Zenodo itself, so nothing is pinned by hand: every file is downloaded with a progress bar and
verified against the record's checksum (pooch downloads to a temporary file and keeps it only if
it verifies). An archival run may pin SHA-256 values as well (config ``imi.sha256``); a mismatch
deletes the file. Archives are unpacked here, not by pooch's processors, which do not refuse
members outside the target for zips, nor absolute tar members (they are re-rooted silently):
``unpack`` checks every member of a zip or tar the same way before writing anything, and unpacks
into a temporary folder that takes the target's name only when complete.

Offline, the record cannot be read and this fails at once, saying which files to put where;
files placed by hand are used if every pinned checksum matches (or ``imi.allow_unverified``).
"""

from __future__ import annotations

import logging
import os
import posixpath
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pooch

from mis.imi import DOI
from mis.imi.release import DatasetError, locate
from mis.storage import atomic_directory, sha256_of

log = logging.getLogger(__name__)
ARCHIVE_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tar", ".zip")
MARKER = ".unpacked-from.sha256"


def record_url(doi: str) -> str:
    return f"https://zenodo.org/records/{doi.rsplit('.', 1)[-1]}"


def archive_folder(name: str) -> str | None:
    """The folder an archive unpacks into (its name without the archive suffix); None if not one."""
    for suffix in ARCHIVE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return None


def _outside(name: str) -> bool:
    """Whether an archive member's path is absolute or climbs out of the target folder."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return True
    normal = posixpath.normpath(name.replace("\\", "/"))
    return normal == ".." or normal.startswith("../")


def _members(archive: Path) -> tuple[str, list[str]]:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            return "zip", zipped.namelist()
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tar:
            return "tar", tar.getnames()
    raise DatasetError(f"{archive} is neither a zip nor a tar archive")


def unpack(archive: str | os.PathLike, folder: str | os.PathLike, digest: str) -> None:
    """Unpack a zip or tar into ``folder`` with a marker holding the archive's sha256. Every member
    is checked first: an absolute path, or one that would land outside ``folder``, refuses the whole
    archive, naming it and the member; nothing is written unless all of it unpacks."""
    archive, folder = Path(archive), Path(folder)
    kind, names = _members(archive)
    bad = [name for name in names if _outside(name)]
    if bad:
        raise DatasetError(
            f"{archive}: member {bad[0]!r} would be written outside {folder} (absolute path or '..'); "
            f"refusing to unpack the archive ({len(bad)} such member(s))"
        )
    with atomic_directory(folder) as tmp:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(tmp)
        else:
            with tarfile.open(archive) as tar:
                try:
                    tar.extractall(tmp, filter="data")  # also refuses links pointing outside
                except tarfile.FilterError as error:
                    raise DatasetError(f"{archive}: {error}; refusing to unpack the archive") from error
        (tmp / MARKER).write_text(digest + "\n")
    log.info("unpacked %s into %s", archive, folder)


def place_by_hand(doi: str, data_dir: Path, needed: list[str]) -> str:
    return (
        f"Without network, download the files of Zenodo record {record_url(doi)} (doi:{doi}) on a machine with "
        f"access and put them in {data_dir.resolve()}/ (config key 'imi.data_dir'; archives are unpacked there), or "
        f"put the unpacked release there so that it holds {', '.join(needed)}; files placed by hand are used only "
        "if config key 'imi.sha256' pins their checksums, or with imi.allow_unverified: true."
    )


def _record(doi: str, data_dir: Path) -> tuple[pooch.Pooch | None, str | None]:
    """A pooch whose registry is the record's file list and checksums, or the reason it is unreadable."""
    pup = pooch.create(path=data_dir, base_url=f"doi:{doi}/", registry=None, retry_if_failed=0)
    try:
        pup.load_registry_from_doi()
    except Exception as error:  # requests' connection errors, HTTP errors, unparsable API answers
        return None, f"{type(error).__name__}: {error}"
    return pup, None


def _check_pin(path: Path, pinned: str | None, delete: bool) -> str:
    digest = sha256_of(path)
    if pinned is not None and digest != pinned:
        if delete:
            path.unlink()
        raise DatasetError(
            f"checksum mismatch for {path}: sha256 {digest}, but config key 'imi.sha256' pins {pinned}"
            + ("; the download was deleted" if delete else "")
        )
    return digest


def _settle_archive(path: Path, digest: str) -> str:
    folder = path.parent / archive_folder(path.name)
    marker = folder / MARKER
    if not (marker.is_file() and marker.read_text().strip() == digest):
        unpack(path, folder, digest)
    return str(folder)


def fetch_release(
    data_dir: str | os.PathLike,
    needed: list[str],
    doi: str = DOI,
    files: list[str] | None = None,
    sha256: dict[str, str] | None = None,
    allow_unverified: bool = False,
    timeout: float = 30,
) -> dict[str, Any]:
    """Download and verify the record's ``files`` (all if None) into ``data_dir``, unpack archives,
    and find the ``needed`` paths below it; a report of every file, checksum and path."""
    data_dir, pins = Path(data_dir), dict(sha256 or {})
    data_dir.mkdir(parents=True, exist_ok=True)
    pup, offline = _record(doi, data_dir)
    entries = []
    if pup is not None:
        wanted = list(pup.registry) if files is None else list(files)
        unknown = sorted((set(wanted) | set(pins)) - set(pup.registry))
        if unknown:
            raise DatasetError(
                f"Zenodo record doi:{doi} has no file(s) {unknown} (config keys 'imi.record_files', 'imi.sha256'); "
                f"it lists {sorted(pup.registry)}"
            )
        downloader = pooch.DOIDownloader(progressbar=True, timeout=timeout)
        for name in wanted:
            try:
                path = Path(pup.fetch(name, downloader=downloader))
            except Exception as error:
                raise DatasetError(
                    f"could not fetch {name} of doi:{doi}: {error}. {place_by_hand(doi, data_dir, needed)}"
                ) from error
            digest = _check_pin(path, pins.get(name), delete=True)
            entry = {
                "name": name,
                "path": str(path),
                "record_checksum": pup.registry[name],
                "sha256": digest,
                "verified": True,
                "pinned": name in pins,
            }
            if archive_folder(name):
                entry["folder"] = _settle_archive(path, digest)
            entries.append(entry)
    else:
        log.warning("Zenodo record doi:%s cannot be read (%s); using the files placed in %s", doi, offline, data_dir)
        for name, pinned in sorted(pins.items()):
            path = data_dir / name
            if path.is_file():
                entry = {
                    "name": name,
                    "path": str(path),
                    "sha256": _check_pin(path, pinned, delete=False),
                    "verified": True,
                    "pinned": True,
                }
                if archive_folder(name):
                    entry["folder"] = _settle_archive(path, entry["sha256"])
                entries.append(entry)
    located = {relative: locate(data_dir, relative) for relative in needed}
    missing = [relative for relative, path in located.items() if path is None]
    if missing:
        reason = f"Zenodo record doi:{doi} could not be read ({offline}). " if offline else ""
        raise DatasetError(
            f"{reason}{', '.join(missing)} not found below {data_dir}. {place_by_hand(doi, data_dir, needed)}"
        )
    verified_folders = [Path(e["folder"]) for e in entries if "folder" in e]
    verified_files = {Path(e["path"]) for e in entries}
    unverified = [
        relative
        for relative, path in located.items()
        if path not in verified_files and not any(folder in path.parents for folder in verified_folders)
    ]
    if unverified and not allow_unverified:
        raise DatasetError(
            f"{', '.join(unverified)} below {data_dir} came from no verified download or archive. "
            f"{place_by_hand(doi, data_dir, needed)}"
        )
    for relative in unverified:
        log.warning("UNVERIFIED %s used as it is (imi.allow_unverified is true)", located[relative])
    report = {
        "doi": doi,
        "record": record_url(doi),
        "record_read": offline is None,
        "data_dir": str(data_dir),
        "files": entries,
        "located": {relative: str(path) for relative, path in located.items()},
        "unverified": unverified,
    }
    return report
