"""The IMI download through pooch's DOI route, against a stand-in for the Zenodo record: its API
answer (the record's file list and md5 checksums, as Zenodo's legacy API writes it) comes from a
fake repository object, its files from a local HTTP server, so that pooch's own registry loading,
download and hash check run. Also: offline failure, pinned checksums, and archives whose members
would land outside the target (absolute or '..', zip and tar alike) refused with nothing left."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import tarfile
import threading
import zipfile
from pathlib import Path

import pooch
import pytest

from mis.imi.download import MARKER, unpack
from mis.imi.release import FILE_MAP, DatasetError, dataset_path
from mis.stages.imi import download_imi

RESPONSES = "human_responses/responses_main.csv"
NEEDED = [RESPONSES, FILE_MAP]


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def record(tmp_path: Path, monkeypatch) -> dict[str, bytes]:
    """A Zenodo record with two archives, served from 127.0.0.1; pooch sees it as doi:10.5281/zenodo.8131197."""
    served = tmp_path / "served"
    served.mkdir()
    files = {
        "human_responses.zip": zip_bytes({RESPONSES: b"rt,correct\n1,True\n"}),
        "image_data.tar.gz": tar_bytes({FILE_MAP: b"{}", "image_data/README": b"x"}),
    }
    for name, data in files.items():
        (served / name).write_bytes(data)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]

    class Record(pooch.downloaders.ZenodoRepository):
        @property
        def api_response(self):
            return {
                "files": [
                    {
                        "key": name,
                        "checksum": f"md5:{hashlib.md5(data).hexdigest()}",
                        "links": {"self": f"http://127.0.0.1:{port}/{name}"},
                    }
                    for name, data in files.items()
                ]
            }

    def to_repository(doi, **kwargs):
        assert doi.rstrip("/") == "10.5281/zenodo.8131197"
        return Record(doi, "https://zenodo.org/records/8131197")

    monkeypatch.setattr(pooch.downloaders, "doi_to_repository", to_repository)
    monkeypatch.setattr(pooch.core, "doi_to_repository", to_repository)
    yield files
    server.shutdown()


def test_download_from_the_record_verifies_unpacks_and_reports(tmp_path: Path, record: dict[str, bytes]) -> None:
    data = tmp_path / "data"
    report = download_imi(data, NEEDED, tmp_path / "files.json")
    assert report["record_read"] and [e["name"] for e in report["files"]] == list(record)
    entry = report["files"][0]
    assert entry["record_checksum"] == f"md5:{hashlib.md5(record['human_responses.zip']).hexdigest()}"
    assert entry["sha256"] == hashlib.sha256(record["human_responses.zip"]).hexdigest() and entry["verified"]
    responses = data / "human_responses" / RESPONSES
    assert report["located"][RESPONSES] == str(responses) and responses.read_bytes() == b"rt,correct\n1,True\n"
    assert dataset_path(tmp_path / "files.json", FILE_MAP) == data / "image_data" / FILE_MAP
    assert (data / "image_data" / MARKER).read_text().strip() == hashlib.sha256(record["image_data.tar.gz"]).hexdigest()
    assert report["unverified"] == [] and json.loads((tmp_path / "files.json").read_text()) == report


def test_a_pinned_sha256_that_does_not_match_deletes_the_download(tmp_path: Path, record: dict[str, bytes]) -> None:
    with pytest.raises(DatasetError, match="checksum mismatch.*image_data.tar.gz.*imi.sha256.*deleted"):
        download_imi(tmp_path / "data", NEEDED, tmp_path / "files.json", sha256={"image_data.tar.gz": "0" * 64})
    assert not (tmp_path / "data" / "image_data.tar.gz").exists() and not (tmp_path / "files.json").exists()


def test_a_file_the_record_does_not_hold_is_named(tmp_path: Path, record: dict[str, bytes]) -> None:
    with pytest.raises(DatasetError, match=r"has no file\(s\) \['stimuli.zip'\].*it lists \['human_responses.zip'"):
        download_imi(tmp_path / "data", NEEDED, tmp_path / "files.json", files=["stimuli.zip"])


def test_offline_fails_at_once_saying_what_to_put_where(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # a closed port: no connection
    with pytest.raises(DatasetError) as error:
        download_imi(tmp_path / "data", NEEDED, tmp_path / "files.json")
    message = str(error.value)
    assert "doi:10.5281/zenodo.8131197 could not be read" in message and "https://zenodo.org/records/8131197" in message
    assert f"put them in {(tmp_path / 'data').resolve()}/" in message and f"{RESPONSES}, {FILE_MAP}" in message


def test_offline_uses_pinned_files_placed_by_hand(tmp_path: Path, record: dict[str, bytes], monkeypatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name, content in record.items():
        (data / name).write_bytes(content)
    monkeypatch.setattr(
        pooch.core, "doi_to_repository", lambda doi, **kw: (_ for _ in ()).throw(ConnectionError("offline"))
    )
    pins = {name: hashlib.sha256(content).hexdigest() for name, content in record.items()}
    report = download_imi(data, NEEDED, tmp_path / "files.json", sha256=pins)
    assert not report["record_read"] and all(e["verified"] for e in report["files"])
    assert Path(report["located"][FILE_MAP]).is_file()
    (data / "image_data" / MARKER).unlink()  # now the unpacked folder looks placed by hand ...
    (data / "image_data.tar.gz").unlink()
    with pytest.raises(DatasetError, match=f"{FILE_MAP} below .* came from no verified download"):
        download_imi(data, NEEDED, tmp_path / "files.json", sha256={"human_responses.zip": pins["human_responses.zip"]})
    report = download_imi(
        data,
        NEEDED,
        tmp_path / "files.json",
        allow_unverified=True,  # ... usable with the opt-in
        sha256={"human_responses.zip": pins["human_responses.zip"]},
    )
    assert report["unverified"] == [FILE_MAP]


@pytest.mark.parametrize("member", ["/tmp/evil.txt", "../evil.txt", "inside/../../evil.txt"])
@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_members_outside_the_target_are_refused_alike(tmp_path: Path, kind: str, member: str) -> None:
    """Issue 12: absolute members were refused from zips but re-rooted from tars; both are refused,
    naming archive and member, and nothing (not even the harmless member) is left behind."""
    members = {"image_data/ok.txt": b"fine", member: b"evil"}
    archive = tmp_path / f"release.{kind}"
    archive.write_bytes(zip_bytes(members) if kind == "zip" else tar_bytes(members))
    target = tmp_path / "data" / "release"
    target.parent.mkdir()
    with pytest.raises(DatasetError, match=f"{archive}: member '{member}' would be written outside"):
        unpack(archive, target, "digest")
    assert not target.exists() and sorted(p.name for p in (tmp_path / "data").iterdir()) == []
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()
