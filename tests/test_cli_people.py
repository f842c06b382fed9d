"""The command line as a person meets it in a terminal: options where they are typed, one
line for a busy port, quiet in a pipe, tables that fit, a warning for a blank sheet, and a
set-up and a server that say what they are doing. Real subprocesses throughout."""

from __future__ import annotations

import json
import os
import shlex
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import (
    SYNTHETIC_BASE,
    LiveServer,
    run_command,
    synthetic_finding,
    synthetic_study,
    write_sheet,
)

ROOT = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).with_name("whatworks")

#: Every triple of every named graph: a result far larger than a pipe's buffer.
EVERYTHING = "SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }\n"


def _sheets(folder: Path) -> list[Path]:
    folder.mkdir()
    studies = [synthetic_study(f"s{i}", interventions="i1") for i in range(40)]
    return [
        write_sheet(folder, "people.studies", studies),
        write_sheet(
            folder,
            "people.interventions",
            [{"key": "i1", "label": "Synthetic intervention", "intervention_type": "mentoring"}],
        ),
        write_sheet(
            folder,
            "people.findings",
            [synthetic_finding(f"f{i}", f"s{i}", intervention="i1") for i in range(40)],
        ),
    ]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with a small synthetic coding set (tests must not change it)."""
    folder = tmp_path_factory.mktemp("people")
    path = folder / "store"
    files = _sheets(folder / "sheets")
    done = run_command(path, "ingest", "-q", "--id-base", SYNTHETIC_BASE, *map(str, files))
    assert done.returncode == 0, done.stderr
    return path


def _version(store: Path) -> tuple[str | None, dict[str, int]]:
    done = run_command(store, "stats", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    return answer["version"], answer["graphs"]


# 1. --store before or after the command ---------------------------------------------------


def test_store_is_accepted_after_the_command(store: Path, tmp_path: Path) -> None:
    # the environment names a store that does not exist: only the option can find the data
    elsewhere = tmp_path / "not-a-store"
    after = run_command(elsewhere, "stats", "--json", "--store", str(store))
    before = run_command(elsewhere, "--store", str(store), "stats", "--json")
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["store"] == json.loads(before.stdout)["store"] == str(store)


def test_the_store_after_the_command_wins(store: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    done = run_command(store, "--store", str(store), "stats", "--store", str(missing))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: no store at {missing}: load some evidence first (`whatworks load`)"
    )
    done = run_command(missing, "--store", str(missing), "stats", "--json", "--store", str(store))
    assert done.returncode == 0, done.stderr


def test_every_command_that_opens_the_store_takes_store() -> None:
    from whatworks.cli import main

    storeless = {"template", "meta"}
    for name, command in main.commands.items():
        has = any("--store" in p.opts for p in command.params)
        assert has == (name not in storeless), name


# 2. serve on a busy port -----------------------------------------------------------------


def test_serve_on_a_busy_port_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        done = run_command(tmp_path / "store", "serve", "--port", str(port), timeout=30)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"error: port {port} is in use on 127.0.0.1; choose another with --port\n"
    )
    assert time.monotonic() - started < 15  # no worker pool started and waited for


def test_serve_with_a_host_that_has_no_address(tmp_path: Path) -> None:
    done = run_command(tmp_path / "store", "serve", "--host", "no-such-host.invalid", timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("error: cannot listen on no-such-host.invalid: ")
    assert len(done.stderr.splitlines()) == 1


def test_serve_ends_its_start_with_the_address_to_open(store: Path) -> None:
    server = LiveServer(store)
    try:
        # the server answers: the lines before it started are all written
        lines = server.log.read_text().splitlines()
    finally:
        server.stop()
    opened = f"Open http://127.0.0.1:{server.port}/ in a browser (Ctrl-C to stop)"
    assert opened in lines
    assert lines.index(opened) == 1, lines
    assert lines[0].endswith(f"SPARQL endpoint at http://127.0.0.1:{server.port}/sparql")


# 3. a closed pipe --------------------------------------------------------------------------


def _piped(command: str, store: Path) -> tuple[int, str, str]:
    """Run ``whatworks COMMAND | head -1`` in bash; return whatworks's status, its stderr and
    what head printed."""
    script = (
        f"set +o pipefail; {shlex.quote(str(EXE))} {command} 2>err | head -1; "
        'echo "${PIPESTATUS[0]}" >status'
    )
    cwd = store.parent
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "WHATWORKS_STORE": str(store)},
        check=False,
    )
    return int((cwd / "status").read_text()), (cwd / "err").read_text(), done.stdout


def test_query_list_into_head(store: Path) -> None:
    status, err, out = _piped("query --list", store)
    assert (status, err) == (0, "")
    assert len(out.splitlines()) == 1


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_a_large_result_into_head(store: Path, fmt: str) -> None:
    (store.parent / "everything.rq").write_text(EVERYTHING, encoding="utf-8")
    status, err, out = _piped(f"query --format {fmt} everything.rq", store)
    assert (status, err) == (0, "")
    assert len(out.splitlines()) == 1


# 4. tables that fit ------------------------------------------------------------------------


def test_a_table_fits_the_terminal_with_curies(store: Path, tmp_path: Path) -> None:
    query = tmp_path / "everything.rq"
    query.write_text(EVERYTHING, encoding="utf-8")
    exe = [str(EXE), "--store", str(store), "query", str(query)]
    env = {**os.environ, "COLUMNS": "80"}
    done = subprocess.run(exe, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) > 100
    assert max(map(len, lines)) <= 80
    assert "rdf:type" in done.stdout
    assert "\u2026" in done.stdout  # long cells shortened, visibly
    assert "http://www.w3.org/1999/02/22-rdf-syntax-ns#" not in done.stdout
    # other formats keep whole IRIs
    csv = subprocess.run(
        [*exe, "--format", "csv"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert "http://www.w3.org/1999/02/22-rdf-syntax-ns#type" in csv.stdout
    assert max(map(len, csv.stdout.splitlines())) > 80


def test_a_wide_terminal_shows_cells_whole(store: Path, tmp_path: Path) -> None:
    query = tmp_path / "types.rq"
    query.write_text("SELECT DISTINCT ?t WHERE { ?s a ?t } ORDER BY ?t\n", encoding="utf-8")
    env = {**os.environ, "COLUMNS": "300"}
    done = subprocess.run(
        [str(EXE), "--store", str(store), "query", str(query)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "emmie:Study" in done.stdout.split()
    assert "\u2026" not in done.stdout


# 5. blank sheets ---------------------------------------------------------------------------


def test_the_blank_workbook_is_refused_with_a_warning(tmp_path: Path) -> None:
    blank = tmp_path / "blank.xlsx"
    assert run_command(tmp_path / "store", "template", "--out", str(blank)).returncode == 0
    store = tmp_path / "store"
    done = run_command(store, "ingest", str(blank))
    assert done.returncode == 1
    assert f"warning: {blank}: no records" in done.stderr
    assert "nothing was written" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert _version(store) == (None, {})


def test_blank_csv_sheets_are_refused_with_a_warning_each(tmp_path: Path) -> None:
    folder = tmp_path / "blank"
    assert (
        run_command(tmp_path / "s", "template", "--format", "csv", "--out", str(folder)).returncode
        == 0
    )
    files = sorted(folder.glob("*.csv"))
    store = tmp_path / "store"
    done = run_command(store, "ingest", *map(str, files))
    assert done.returncode == 1
    for path in files:
        assert f"warning: {path}: no records" in done.stderr
    assert _version(store) == (None, {})


def test_a_blank_sheet_beside_real_ones_is_left_out(store: Path, tmp_path: Path) -> None:
    before = _version(store)
    files = _sheets(tmp_path / "sheets")
    blank = write_sheet(tmp_path, "people.extra.studies", [])
    done = run_command(store, "ingest", "--id-base", SYNTHETIC_BASE, str(blank), *map(str, files))
    assert done.returncode == 0, done.stderr
    assert f"warning: {blank}: no records" in done.stderr
    assert "ingested 3 file(s)" in done.stdout
    assert _version(store) == before


# 6. set-up says what it does -------------------------------------------------------------

_FAKE_PIP = """#!{python}
import os, sys, warnings
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
if "-e" in sys.argv:
    if os.environ.get("FAKE_PIP_FAILS"):
        print("ERROR: Could not build wheels for whatworks", file=sys.stderr)
        sys.exit(1)
    # what setuptools does in the build backend: a warning on stderr, in a process that
    # inherits pip's environment
    warnings.warn("Editable installation.\\n!!\\n\\n  Please be careful ...\\n!!", UserWarning)
    warnings.warn("a real warning", UserWarning)
"""

_FAKE_PYTHON = """#!/bin/sh
# python3 -m venv DIR: a venv whose pip is the fake above
[ "$1" = -m ] && [ "$2" = venv ] || exit 9
mkdir -p "$3/bin"
cp "$FAKE_PIP" "$3/bin/pip"
"""


def _executable(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _setup(tmp_path: Path, *, pip_fails: bool) -> subprocess.CompletedProcess[str]:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("the set-up would install chromium")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "log"
    pip = _executable(tmp_path / "pip", _FAKE_PIP.format(python=sys.executable))
    _executable(bin_dir / "python3", _FAKE_PYTHON)
    _executable(bin_dir / "java", "#!/bin/sh\n")
    _executable(bin_dir / "npm", f'#!/bin/sh\necho "npm $*" >> "{log}"\n')
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_PIP": str(pip),
        "FAKE_LOG": str(log),
    }
    env.pop("PYTHONWARNINGS", None)
    if pip_fails:
        env["FAKE_PIP_FAILS"] = "1"
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup.sh"), str(tmp_path / "venv")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )


def test_setup_says_each_step_and_hides_the_editable_notice(tmp_path: Path) -> None:
    done = _setup(tmp_path, pip_fails=False)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    steps = [line for line in lines if line.startswith("setup: ")]
    assert steps == [
        "setup: a Java runtime is installed (for the HermiT reasoner)",
        f"setup: creating the virtual environment {tmp_path / 'venv'}",
        "setup: installing whatworks and its test tools (pip)",
        "setup: installing the browser-side packages (npm)",
        "setup: chromium is installed (for the browser tests)",
        "setup: done: `make run` serves the evidence base, `make test` runs the tests",
    ]
    assert "Editable installation" not in done.stderr
    assert "a real warning" in done.stderr  # other warnings still show
    assert "npm ci" in (tmp_path / "log").read_text()


def test_a_failing_pip_fails_the_setup_and_shows_why(tmp_path: Path) -> None:
    done = _setup(tmp_path, pip_fails=True)
    assert done.returncode != 0
    assert "ERROR: Could not build wheels for whatworks" in done.stderr
    assert "installing the browser-side packages" not in done.stderr
    assert "npm" not in (tmp_path / "log").read_text()
