"""Fixtures and helpers for the SPARQL endpoint tests: real server processes, raw HTTP.

Every server here is a real ``whatworks serve`` process; each fixture stops what it starts.
Synthetic data lives under https://w3id.org/whatworks/synthetic/id/.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer, run_command

SYNTHETIC = "https://w3id.org/whatworks/synthetic/id/"
GRAPH = "https://w3id.org/whatworks/graph/"
EMMIE = "https://w3id.org/whatworks/emmie#"
FOAF_DOCUMENT = "http://xmlns.com/foaf/0.1/Document"

#: The W3C protocol tests' data1.nt .. data3.nt, as synthetic documents. Each file is its
#: own named graph (named after the file), as the W3C tests load each file into a graph.
W3C_FILES = ("w3c-data1", "w3c-data2", "w3c-data3")


def w3c_graph(n: int) -> str:
    """The named graph of W3C data file ``n`` (data0 is never loaded: an unknown graph)."""
    return f"{GRAPH}w3c-data{n}"


def w3c_document(n: int) -> str:
    """The one resource in W3C data file ``n``."""
    return f"{SYNTHETIC}w3c-data{n}"


#: Servers log to a file (see LiveServer), so long tests cannot stall them.
Server = LiveServer


StartServer = Callable[..., Server]


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Start servers for one test (``start_server(store, **env)``); all stopped after it."""
    started: list[Server] = []

    def start(store: Path, **env: str) -> Server:
        server = Server(store, env={f"WHATWORKS_{k.upper()}": v for k, v in env.items()})
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def ingest(store: Path, *files: Path) -> None:
    done = run_command(store, "ingest", "-q", "--id-base", SYNTHETIC, *map(str, files))
    assert done.returncode == 0, done.stderr


def write_w3c_data(folder: Path) -> list[Path]:
    """The W3C protocol tests' three data files, one synthetic document each."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, stem in enumerate(W3C_FILES, start=1):
        path = folder / f"{stem}.ttl"
        path.write_text(f"<{w3c_document(n)}> a <{FOAF_DOCUMENT}> .\n", encoding="utf-8")
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def w3c_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the W3C protocol tests' data (shared: tests must not write to it)."""
    root = tmp_path_factory.mktemp("w3c")
    store = root / "store"
    ingest(store, *write_w3c_data(root / "data"))
    return store


@pytest.fixture(scope="session")
def w3c_server(w3c_store: Path) -> Iterator[Server]:
    server = Server(w3c_store, env={"WHATWORKS_QUERY_TIMEOUT": "5"})
    yield server
    server.stop()


# --- raw HTTP -------------------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes
    raw_head: bytes = field(repr=False, default=b"")

    def json(self) -> Any:
        return json.loads(self.body)


def raw_http(port: int, request: bytes, *, timeout: float = 30) -> RawResponse:
    """Send ``request`` (bytes, as they go on the wire) and read the whole answer.

    The request should say ``Connection: close``; the answer is read until the server
    closes the connection, so a body that should not be there is seen.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(request)
        chunks = []
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    _, status, reason = (lines[0].split(" ", 2) + [""])[:3]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawResponse(int(status), reason, headers, body, head)


def http_request(
    method: str,
    target: str,
    *,
    port: int,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> bytes:
    """A hand-written HTTP/1.1 request; ``target`` is sent exactly as given (bytes are
    allowed through latin-1, so invalid UTF-8 can be sent)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + (body or b"")


# --- the one JSON error shape ---------------------------------------------------------


def assert_error(status: int, headers: Any, body: bytes, expected: int) -> dict[str, Any]:
    """The answer is ``expected``, with exactly the server's one JSON error shape."""
    assert status == expected, body[:500]
    content_type = headers.get("content-type") or headers.get("Content-Type") or ""
    assert content_type.split(";")[0].strip() == "application/json", content_type
    document = json.loads(body)
    assert set(document) == {"error"}, document
    error = document["error"]
    assert set(error) == {"status", "title", "detail", "request_id"}, error
    assert error["status"] == expected
    assert isinstance(error["title"], str) and error["title"]
    assert isinstance(error["detail"], str) and error["detail"]
    assert isinstance(error["request_id"], str) and error["request_id"]
    request_id = headers.get("x-request-id") or headers.get("X-Request-ID")
    assert error["request_id"] == request_id
    detail: dict[str, Any] = error
    return detail


def assert_requests_error(response: Any, expected: int) -> dict[str, Any]:
    """:func:`assert_error` for a ``requests`` response."""
    return assert_error(response.status_code, response.headers, response.content, expected)


def assert_raw_error(response: RawResponse, expected: int) -> dict[str, Any]:
    """:func:`assert_error` for a :class:`RawResponse`."""
    return assert_error(response.status, response.headers, response.body, expected)


# --- a listener that must never be called ---------------------------------------------


class Listener:
    """A TCP listener on loopback that records every connection made to it."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.socket.settimeout(0.2)
        self.port: int = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.connections: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            with connection:
                self.connections.append(b"(connected)")  # counted before anything is read
                connection.settimeout(1)
                with contextlib.suppress(OSError):
                    self.connections[-1] = connection.recv(4096) or b"(nothing sent)"

    def connections_after_settling(self) -> list[bytes]:
        """The connections made so far, after a moment for any in flight to be accepted."""
        time.sleep(0.25)
        return list(self.connections)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.socket.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    listening = Listener()
    yield listening
    listening.close()
