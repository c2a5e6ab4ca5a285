"""A small local collector of session files (``python -m mis experiment serve``), standard library only.

Endpoints (CORS open, so that a page opened from disk or another host may call them):

- ``POST /sessions?session=<id>[&participant=…&study=…]``: a session file (text/csv) in the release's
  45 columns (checked), written atomically as ``<responses>/<id>.csv``; a session sent again (same id
  or same bytes) is stored once, another file under an id already taken is refused (409); the
  recruitment study id (Prolific's ``STUDY_ID``, which the 45 columns have no place for) is logged;
- ``GET /assignment?participant=<id>&n=<trial lists>``: the trial list for a participant, the one
  handed out least so far (ties: the lowest), the same again for the same participant; kept in
  ``<responses>/assignments.json``, written atomically;
- any other ``GET``: a file of the site folder, if one is given (so that one command hosts the
  study and collects it: set ``experiment.collector_url`` to ``.``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import re
import threading
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from mis.imi.responses import ResponseFormatError, check_columns
from mis.storage import atomic_path, write_json

log = logging.getLogger(__name__)
MAX_BYTES = 20 * 2**20
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
STATE = "assignments.json"


class Collector:
    """The session files and trial-list assignments of one folder; one writer at a time."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.digests = {hashlib.sha256(p.read_bytes()).hexdigest(): p.name for p in self.folder.glob("*.csv")}
        state = self.folder / STATE
        self.assignments: dict[str, int] = json.loads(state.read_text()) if state.is_file() else {}

    def store(self, session: str, body: bytes) -> tuple[HTTPStatus, str]:
        """Write a session file once; (status, message)."""
        if not SESSION_ID.fullmatch(session):
            return HTTPStatus.BAD_REQUEST, "session id: letters, digits, _ and - only"
        try:
            header = next(csv.reader(io.StringIO(body.decode("utf-8"))))
            check_columns(header, f"session {session}")
        except (UnicodeDecodeError, StopIteration, ResponseFormatError) as error:
            return HTTPStatus.BAD_REQUEST, f"not a session file in the release's columns: {error}"
        digest = hashlib.sha256(body).hexdigest()
        target = self.folder / f"{session}.csv"
        with self.lock:
            if digest in self.digests:
                return HTTPStatus.OK, f"already stored as {self.digests[digest]}"
            if target.exists():
                return HTTPStatus.CONFLICT, f"session {session} is stored already, with other content"
            with atomic_path(target) as tmp:
                tmp.write_bytes(body)
            self.digests[digest] = target.name
        log.info("stored %s (%d bytes)", target.name, len(body))
        return HTTPStatus.CREATED, f"stored as {target.name}"

    def assign(self, participant: str, n: int) -> int:
        """The participant's trial list: the one handed out least so far, then always the same."""
        with self.lock:
            if participant not in self.assignments:
                counts = [0] * n
                for index in self.assignments.values():
                    if index < n:
                        counts[index] += 1
                self.assignments[participant] = counts.index(min(counts))
                write_json(self.folder / STATE, self.assignments)
            return self.assignments[participant]


def handler(collector: Collector, site: str | os.PathLike | None) -> type[SimpleHTTPRequestHandler]:
    """A request handler class bound to ``collector`` (and serving ``site``)."""

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(site or collector.folder), **kwargs)

        def end_headers(self) -> None:
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", "Content-Type")
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def reply(self, status: HTTPStatus, content: dict) -> None:
            body = json.dumps(content).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_OPTIONS(self) -> None:  # noqa: N802 - the http.server name
            self.send_response(HTTPStatus.NO_CONTENT)
            self.end_headers()

        def do_POST(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            if url.path.rstrip("/").rsplit("/", 1)[-1] != "sessions":
                self.reply(HTTPStatus.NOT_FOUND, {"error": "POST session files to /sessions"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BYTES:
                self.reply(HTTPStatus.BAD_REQUEST, {"error": f"a session file of 1 to {MAX_BYTES} bytes"})
                return
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            status, message = collector.store(query.get("session", ""), self.rfile.read(length))
            log.info(
                "session %s of participant %s, study %s: %s",
                *(query.get(k) for k in ("session", "participant", "study")),
                message,
            )
            self.reply(status, {"message": message})

        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            if url.path.rstrip("/").rsplit("/", 1)[-1] == "assignment":
                query = parse_qs(url.query)
                try:
                    participant, n = query["participant"][0], int(query["n"][0])
                except (KeyError, ValueError):
                    self.reply(HTTPStatus.BAD_REQUEST, {"error": "needs participant and n"})
                    return
                if n < 1 or not participant:
                    self.reply(HTTPStatus.BAD_REQUEST, {"error": "n must be at least 1"})
                    return
                self.reply(HTTPStatus.OK, {"assignment": collector.assign(participant, n)})
            elif site is None:
                self.reply(HTTPStatus.NOT_FOUND, {"error": "no site is served here (--site)"})
            else:
                super().do_GET()

        def do_HEAD(self) -> None:  # noqa: N802
            if site is None:
                self.reply(HTTPStatus.NOT_FOUND, {"error": "no site is served here (--site)"})
            else:
                super().do_HEAD()

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the http.server signature
            log.info("%s %s", self.address_string(), format % args)

    return Handler


def make_server(
    responses: str | os.PathLike, host: str = "127.0.0.1", port: int = 8000, site: str | os.PathLike | None = None
) -> ThreadingHTTPServer:
    """The collector's server (not started); port 0 picks a free one."""
    return ThreadingHTTPServer((host, port), handler(Collector(responses), site))


def serve(responses: str | os.PathLike, host: str, port: int, site: str | os.PathLike | None) -> None:
    """Run the collector until interrupted."""
    server = make_server(responses, host, port, site)
    where = f"http://{server.server_address[0]}:{server.server_address[1]}/"
    print(f"collecting sessions into {Path(responses).resolve()} at {where}sessions", flush=True)
    if site:
        print(f"serving the study {Path(site).resolve()} at {where}index.html", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
