"""Shared fixtures: a fresh store per test, the CLI, and synthetic coding sheets.

Synthetic records live under https://w3id.org/whatworks/synthetic/id/ and are made by
code here; they are never real studies.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from whatworks.cli import main
from whatworks.ingest.coding_sheet import SHEETS_BY_NAME

SYNTHETIC_BASE = "https://w3id.org/whatworks/synthetic/id/"


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


CLI = Callable[..., Result]


@pytest.fixture
def cli(store_dir: Path) -> CLI:
    """Run the whatworks CLI in-process against this test's store."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(
            main, ["--store", str(store_dir), *args], input=input, catch_exceptions=False
        )

    return run


def run_command(store: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the installed ``whatworks`` console script in a subprocess."""
    exe = Path(sys.executable).with_name("whatworks")
    env = {**os.environ, "WHATWORKS_STORE": str(store)}
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def ingest_synthetic(store: Path, files: Sequence[Path]) -> None:
    """Ingest generated synthetic sheets (``benchmarks/synthetic.py``) with the CLI, under
    the synthetic namespace; fail the test with the CLI's stderr if it refuses them."""
    from benchmarks.synthetic import SYNTHETIC_ID_BASE

    done = run_command(
        store, "ingest", "-q", "--no-progress", "--id-base", SYNTHETIC_ID_BASE, *map(str, files)
    )
    assert done.returncode == 0, done.stderr


def write_sheet(
    folder: Path,
    name: str,
    rows: Sequence[dict[str, str]],
    *,
    header: Sequence[str] | None = None,
    encoding: str = "utf-8",
) -> Path:
    """Write a CSV coding sheet ``{name}.csv``; the header defaults to the sheet's columns."""
    kind = name.rsplit(".", 1)[-1]
    columns = list(header) if header is not None else [c.name for c in SHEETS_BY_NAME[kind].columns]
    path = folder / f"{name}.csv"
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def synthetic_study(key: str, **extra: str) -> dict[str, str]:
    return {
        "key": key,
        "title": f"Synthetic study {key}",
        "year": "2020",
        "verified": "yes",
        "design": "rct",
        "doi": "10.5555/synthetic." + key,
        **extra,
    }


def synthetic_finding(key: str, study: str, **extra: str) -> dict[str, str]:
    return {
        "key": key,
        "study": study,
        "outcome": "entry",
        "measure": "entry to care",
        "proxy": "no",
        "direction": "favourable",
        "summary": "Synthetic finding.",
        "statistic": "odds_ratio",
        "estimate": "0.8",
        "ci_lower": "0.6",
        "ci_upper": "0.95",
        "ci_level": "0.95",
        **extra,
    }


@pytest.fixture
def sheets(tmp_path: Path) -> Path:
    """A small valid synthetic coding set: two studies, one intervention, two findings."""
    folder = tmp_path / "sheets"
    folder.mkdir()
    write_sheet(
        folder, "syn.studies", [synthetic_study("s1", interventions="i1"), synthetic_study("s2")]
    )
    write_sheet(
        folder,
        "syn.interventions",
        [{"key": "i1", "label": "Synthetic intervention", "intervention_type": "mentoring"}],
    )
    write_sheet(
        folder,
        "syn.findings",
        [
            synthetic_finding("f1", "s1", intervention="i1"),
            synthetic_finding("f2", "s2", outcome="reunification", measure="returned home"),
        ],
    )
    return folder


class LiveServer:
    """A real ``whatworks serve`` process on a free loopback port."""

    def __init__(self, store: Path, env: dict[str, str] | None = None):
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.sparql = self.url + "/sparql"
        exe = Path(sys.executable).with_name("whatworks")
        # Logs go to a file, not a pipe: an unread pipe fills up and stalls the server.
        import tempfile

        self.log = Path(tempfile.mkstemp(prefix="whatworks-server-", suffix=".log")[1])
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [str(exe), "--store", str(store), "serve", "--port", str(self.port)],
                env={**os.environ, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        self._wait()

    def _wait(self) -> None:
        import time
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the server exited: " + self.log.read_text())
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start within 60 s")

    def stop(self) -> str:
        """Stop the server; return its log."""
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        text = self.log.read_text()
        self.log.unlink(missing_ok=True)
        return text


@pytest.fixture(scope="session")
def bundled_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the bundled evidence loaded (shared: tests must not write to it)."""
    store = tmp_path_factory.mktemp("bundled-store") / "store"
    done = run_command(store, "load", "-q")
    assert done.returncode == 0, done.stderr
    return store


@pytest.fixture(scope="session")
def live_server(bundled_store: Path) -> Iterator[LiveServer]:
    """The server over the bundled store, with a short query timeout for the tests."""
    server = LiveServer(bundled_store, env={"WHATWORKS_QUERY_TIMEOUT": "3"})
    yield server
    server.stop()
