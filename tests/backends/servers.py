"""The three stores the integration suite runs on, each a real server or store.

* ``embedded``: the default Oxigraph store in a folder.
* ``oxigraph``: the ``oxigraph`` package's SPARQL server, started on loopback
  (``oxigraph serve --union-default-graph``), queried and updated over HTTP.
* ``virtuoso``: Debian's ``virtuoso-opensource``, started on loopback with the
  configuration kept in ``deploy/virtuoso/virtuoso.ini``; updates through ``/sparql-auth``
  with digest authentication, in the ``staged`` write mode (Virtuoso limits the size of one
  update request).

``WHATWORKS_BACKENDS`` (comma-separated) picks a subset; the default is all three.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from whatworks.core import catalogue
from whatworks.core.remote_store import RemoteSettings, RemoteStore
from whatworks.core.store import Store, open_store

ROOT = Path(__file__).resolve().parents[2]
#: A study of the bundled evidence, for catalogue parameters that take an IRI.
EXAMPLE_IRI = "https://w3id.org/whatworks/id/study/fowler2014_fup"
VIRTUOSO_INI = ROOT / "deploy" / "virtuoso" / "virtuoso.ini"
ALL = ("embedded", "oxigraph", "virtuoso")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(
    url: str,
    *,
    seconds: float = 90,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Wait until ``url`` answers an ASK (any HTTP answer from the server counts)."""
    deadline = time.monotonic() + seconds
    probe = url + ("&" if "?" in url else "?") + "query=ASK%7B%7D"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            text = log.read_text(errors="replace")[-2000:] if log else ""
            raise RuntimeError(f"the store server exited: {text}")
        try:
            request = urllib.request.Request(
                probe, headers={"Accept": "application/sparql-results+json"}
            )
            with urllib.request.urlopen(request, timeout=2):
                return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer within {seconds:g} s")


@dataclass
class Backend:
    """One store the suite runs on: how to name it to whatworks, and its server."""

    name: str
    #: The ``--store`` value: a folder or a query URL.
    store: str
    #: ``WHATWORKS_STORE_*`` settings for a remote store.
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    command: list[str] = field(default_factory=list)
    cwd: Path | None = None
    log: Path | None = None

    @property
    def remote(self) -> bool:
        return self.store.startswith("http")

    def environment(self) -> dict[str, str]:
        """The environment of a whatworks process using this store."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("WHATWORKS_STORE")}
        return {**base, **self.env, "WHATWORKS_STORE": self.store}

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run the installed ``whatworks`` command against this store."""
        exe = Path(sys.executable).with_name("whatworks")
        return subprocess.run(
            [str(exe), *args],
            capture_output=True,
            text=True,
            env=self.environment(),
            timeout=timeout,
            check=False,
        )

    def open(self, *, read_only: bool = False) -> Store:
        if self.remote:
            env = {**self.env, "WHATWORKS_STORE": self.store}
            return RemoteStore(
                RemoteSettings.from_environment(self.store, env), read_only=read_only
            )
        return open_store(self.store, read_only=read_only)

    def start(self) -> None:
        """Start (or restart) the store's server, and wait until it answers."""
        if not self.command:
            return
        assert self.log is not None
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT
            )
        wait_for(self.store, process=self.process, log=self.log)

    def stop(self) -> None:
        """Stop the server (as an outage would: the data stay on disk)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def embedded(folder: Path) -> Backend:
    return Backend("embedded", str(folder / "store"))


def oxigraph(folder: Path) -> Backend:
    exe = Path(sys.executable).with_name("oxigraph")
    if not exe.exists():
        raise RuntimeError(f"no {exe}: install the test extras (pip install -e .[test])")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    backend = Backend(
        "oxigraph",
        f"{base}/query",
        env={
            "WHATWORKS_STORE_UPDATE": f"{base}/update",
            "WHATWORKS_STORE_GSP": f"{base}/store",
            "WHATWORKS_STORE_UNION": "native",
            "WHATWORKS_STORE_TIMEOUT": "60",
        },
        command=[
            str(exe),
            "serve",
            "--location",
            str(folder / "oxigraph"),
            "--bind",
            f"127.0.0.1:{port}",
            "--union-default-graph",
        ],
        log=folder / "oxigraph.log",
    )
    backend.start()
    return backend


def virtuoso(folder: Path) -> Backend:
    exe = shutil.which("virtuoso-t")
    if exe is None:
        raise RuntimeError(
            "virtuoso-t not found: install Debian's virtuoso-opensource (scripts/setup.sh does)"
        )
    http_port, sql_port = free_port(), free_port()
    data = folder / "virtuoso"
    data.mkdir(parents=True)
    ini = data / "virtuoso.ini"
    ini.write_text(
        VIRTUOSO_INI.read_text()
        .replace("@DIR@", str(data))
        .replace("@SQL_PORT@", str(sql_port))
        .replace("@HTTP_PORT@", str(http_port))
    )
    base = f"http://127.0.0.1:{http_port}"
    backend = Backend(
        "virtuoso",
        f"{base}/sparql",
        env={
            "WHATWORKS_STORE_UPDATE": f"{base}/sparql-auth",
            "WHATWORKS_STORE_USER": "dba",
            "WHATWORKS_STORE_PASSWORD": "dba",
            "WHATWORKS_STORE_AUTH": "digest",
            "WHATWORKS_STORE_UNION": "native",
            "WHATWORKS_STORE_WRITE": "staged",
            "WHATWORKS_STORE_CHUNK": "2000",
            "WHATWORKS_STORE_TIMEOUT": "60",
        },
        command=[exe, "+foreground", "+configfile", str(ini)],
        cwd=data,
        log=folder / "virtuoso.log",
    )
    backend.start()
    return backend


def start(name: str, folder: Path) -> Backend:
    folder.mkdir(parents=True, exist_ok=True)
    return {"embedded": embedded, "oxigraph": oxigraph, "virtuoso": virtuoso}[name](folder)


def selected() -> list[str]:
    chosen = os.environ.get("WHATWORKS_BACKENDS", "")
    names = [n.strip() for n in chosen.split(",") if n.strip()] or list(ALL)
    unknown = set(names) - set(ALL)
    if unknown:
        raise RuntimeError(f"WHATWORKS_BACKENDS: unknown {sorted(unknown)}; known: {ALL}")
    return names


def named_cases() -> list[tuple[str, dict[str, str]]]:
    """Every catalogue query, with its required parameters set to their first value."""
    cases = []
    for name, query in sorted(catalogue.catalogue().items()):
        given = {
            p.name: p.allowed()[0] if p.allowed() else EXAMPLE_IRI
            for p in query.params
            if p.required
        }
        cases.append((name, given))
    return cases
