"""Faults in the embedded store: ingests killed with SIGKILL at random points, ingests racing
queries (embedded read-only and through the server), and a full disk.

Every check compares whole graphs: the store must hold exactly the triples of the previous
version or of the new one (after blanking the times an ingest stamps into provenance and the
derived graph), never a part of one and a part of the other.

Where a killed ingest stopped is read from phase markers on its stderr: the ingest runs in
a small driver that wraps the pipeline's steps (read, check, shacl, derive) and sets
``WHATWORKS_DEBUG_PHASES``, so :meth:`EmbeddedStore.replace_graphs` marks its own steps
(diff, update, flush, marker, done). The ingest copies the store (``staging:copy``), writes
the change into the copy (``staging:diff`` ... ``staging:done``) and derives the results
there (decision 0015); then it writes the derived results and the new version into the
copy and switches the store to it (``switch:write`` ... ``switch:done``; the rename that
publishes it is between ``switch:swap`` and ``switch:swapped``): decision 0019. A store
transaction (``writeN:step``, the N-th of the ingest) is no longer made on this path.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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
from whatworks.analysis.derived import DERIVED_GRAPH
from whatworks.core.engine import LIVE, engine_folder, read_version_marker
from whatworks.core.namespaces import source_graph
from whatworks.core.store import DEBUG_PAUSE_ENV, DEBUG_PHASES_ENV, open_store

PHASE = "whatworks-phase: "

#: Runs ``whatworks`` with phase markers on stderr; FAULT_FSIZE sets RLIMIT_FSIZE first.
DRIVER = r"""
import os, sys


def mark(name):
    sys.stderr.write("whatworks-phase: " + name + "\n")
    sys.stderr.flush()


mark("start")
limit = os.environ.get("FAULT_FSIZE")
if limit:
    import resource, signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(limit), int(limit)))
import whatworks.ingest.pipeline as pipeline


def wrap(name, fn):
    def inner(*args, **kwargs):
        mark(name)
        return fn(*args, **kwargs)

    return inner


for attr, name in (
    ("read_sources", "read"),
    ("check_against_store", "check"),
    ("validate_sources", "shacl"),
    ("derive", "derive"),
    ("derived_change", "derive"),
):
    if hasattr(pipeline, attr):
        setattr(pipeline, attr, wrap(name, getattr(pipeline, attr)))
import whatworks.analysis.derived as derived  # the pipeline imports from it when it needs it

for attr in ("derive", "derived_change"):
    setattr(derived, attr, wrap("derive", getattr(derived, attr)))
from whatworks.cli import main

try:
    main(sys.argv[1:], prog_name="whatworks")
finally:
    mark("exit")
"""

INTERVENTIONS = 20


def write_version(folder: Path, version: str, studies: int) -> list[Path]:
    """A synthetic coding set; version "a" and "b" differ in size, titles and estimates."""
    folder.mkdir(parents=True, exist_ok=True)
    estimate = 0.8 if version == "a" else 0.7
    return [
        write_sheet(
            folder,
            "fault.interventions",
            [
                {
                    "key": f"i{k}",
                    "label": f"Synthetic intervention {k} ({version})",
                    "intervention_type": "mentoring",
                }
                for k in range(INTERVENTIONS)
            ],
        ),
        write_sheet(
            folder,
            "fault.studies",
            [
                synthetic_study(
                    f"s{j}", title=f"Synthetic study {j} ({version})", where_read="table 1"
                )
                for j in range(studies)
            ],
        ),
        write_sheet(
            folder,
            "fault.findings",
            [
                synthetic_finding(
                    f"f{j}",
                    f"s{j}",
                    intervention=f"i{j % INTERVENTIONS}",
                    estimate=f"{estimate + (j % 7) / 100:.2f}",
                    ci_lower="0.5",
                    ci_upper="0.99",
                    where_read="table 2",
                )
                for j in range(studies)
            ],
        ),
    ]


def ingest_args(store: Path, files: Sequence[Path]) -> list[str]:
    return [
        sys.executable,
        "-u",
        "-c",
        DRIVER,
        "--store",
        str(store),
        "ingest",
        "-q",
        "--id-base",
        SYNTHETIC_BASE,
        *map(str, files),
    ]


def label_phases(raw: Sequence[str]) -> list[str]:
    """Name each store step after the transaction it belongs to (write1, write2, ...)."""
    labels, writes = [], 0
    for name in raw:
        if name == "store:diff":
            writes += 1
        labels.append(f"write{writes}:{name[6:]}" if name.startswith("store:") else name)
    return labels


class PhaseWatch:
    """Start an ingest and follow its phase markers as they arrive."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None):
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            args,
            env={**os.environ, DEBUG_PHASES_ENV: "1", **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.raw: list[tuple[float, str]] = []
        self.other: list[str] = []
        self._changed = threading.Condition()
        self._eof = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                if line.startswith(PHASE):
                    self.raw.append((time.monotonic() - self.started, line[len(PHASE) :].strip()))
                else:
                    self.other.append(line)
                self._changed.notify_all()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    def labels(self) -> list[str]:
        with self._changed:
            return label_phases([name for _, name in self.raw])

    def wait_for(self, label: str, timeout: float = 120) -> bool:
        """Wait until the ingest enters ``label``; False if it ended without doing so."""
        with self._changed:
            return self._changed.wait_for(
                lambda: label in label_phases([n for _, n in self.raw]) or self._eof, timeout
            ) and label in label_phases([n for _, n in self.raw])

    def finish(self, timeout: float = 120) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=30)
        assert self.process.stderr is not None
        self.process.stderr.close()
        return code


# -- whole-graph snapshots -----------------------------------------------------------------

_TIMES = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?|\d{8}T\d{6,}")


@dataclass(frozen=True)
class Snapshot:
    """A store's graphs, as sets of N-Triples lines (times blanked), and its version."""

    sources: frozenset[str]
    provenance: frozenset[str]
    derived: frozenset[str]
    version: str | None
    marker: str


def snapshot(store_dir: Path) -> Snapshot:
    marker = read_version_marker(store_dir)
    store = open_store(store_dir, read_only=True)
    try:
        parts: dict[str, set[str]] = {"sources": set(), "provenance": set(), "derived": set()}
        for graph in store.graph_names():
            part = (
                "derived"
                if graph == DERIVED_GRAPH
                else "provenance"
                if str(graph).endswith("/provenance")
                else "sources"
            )
            for s, p, o in store.triples(graph):
                parts[part].add(_TIMES.sub("T", f"<{graph}> {s.n3()} {p.n3()} {o.n3()}"))
        return Snapshot(
            frozenset(parts["sources"]),
            frozenset(parts["provenance"]),
            frozenset(parts["derived"]),
            store.dataset_version(),
            marker,
        )
    finally:
        store.close()


def _pending_line() -> str:
    from rdflib import RDFS, Literal

    from whatworks.analysis.derived import DERIVED_GRAPH as graph
    from whatworks.ingest.pipeline import _PENDING

    return _TIMES.sub("T", f"<{graph}> {graph.n3()} {RDFS.comment.n3()} {Literal(_PENDING).n3()}")


#: The mark an ingest of an earlier whatworks put in the derived graph with the evidence,
#: and removed with the recomputed results (decision 0009): never written now.
PENDING_LINE = _pending_line()


def which(found: frozenset[str], old: frozenset[str], new: frozenset[str], what: str) -> str:
    if found == old:
        return "old"
    if found == new:
        return "new"
    raise AssertionError(
        f"{what}: neither version ({len(found)} triples; {len(found - old)} not in the old, "
        f"{len(old - found)} of the old missing; {len(found - new)} not in the new, "
        f"{len(new - found)} of the new missing)"
    )


@dataclass(frozen=True)
class Prepared:
    """A store holding version a, and what the same store holds after ingesting version b."""

    before_dir: Path
    before: Snapshot
    after: Snapshot
    new_files: list[Path]
    #: Reference ingest of b: (seconds since start, phase label), and the labels in order.
    timeline: list[tuple[float, str]]
    #: Store transactions one ingest makes (0: it switches to its staging copy instead).
    transactions: int
    #: Switches to a staging copy one ingest makes (1).
    switches: int


def copy_store(source: Path, target: Path, *, first_layout: bool = False) -> None:
    """Copy a store folder as it is (its ``live`` link kept a link), or only its live
    version's folder, which is a store of the layout before decision 0019."""
    if first_layout:
        shutil.copytree(engine_folder(source), target)
    else:
        shutil.copytree(source, target, symlinks=True)


def versions_beside(store: Path) -> list[str]:
    """The folders and links in a store folder besides ``live``, the live version and the
    one it replaced: what a killed ingest left (a staging copy, a link not yet renamed)."""
    if not (store / LIVE).is_symlink():
        return sorted(p.name for p in store.iterdir() if p.is_dir())
    live = engine_folder(store)
    keep = {LIVE, live.name}
    previous = live / "WHATWORKS_PREVIOUS"
    if previous.exists():
        keep.add(previous.read_text(encoding="utf-8"))
    return sorted(
        p.name for p in store.iterdir() if (p.is_dir() or p.is_symlink()) and p.name not in keep
    )


def prepare(root: Path, studies: int) -> Prepared:
    old_files = write_version(root / "a", "a", studies)
    new_files = write_version(root / "b", "b", studies - studies // 5)
    before_dir = root / "before"
    done = run_command(
        before_dir, "ingest", "-q", "--id-base", SYNTHETIC_BASE, *map(str, old_files)
    )
    assert done.returncode == 0, done.stderr[-3000:]
    reference = root / "reference"
    copy_store(before_dir, reference)
    watch = PhaseWatch(ingest_args(reference, new_files))
    assert watch.finish() == 0, "".join(watch.other)
    labels = label_phases([name for _, name in watch.raw])
    timeline = [(t, label) for (t, _), label in zip(watch.raw, labels, strict=True)]
    after = snapshot(reference)
    shutil.rmtree(reference)
    before = snapshot(before_dir)
    assert before.sources != after.sources and before.derived != after.derived
    assert before.provenance != after.provenance
    transactions = sum(
        1 for label in labels if label.startswith("write") and label.endswith(":diff")
    )
    switches = labels.count("switch:write")
    return Prepared(before_dir, before, after, new_files, timeline, transactions, switches)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    return prepare(tmp_path_factory.mktemp("faults"), studies=40)


# -- 1. SIGKILL -----------------------------------------------------------------------------

#: Kills in CI; the long form (``pytest -m long``) makes :data:`LONG_KILL_RUNS`.
KILL_RUNS = 8
LONG_KILL_RUNS = 20
#: Every step of the switch, in order; the rename that publishes is between ``swap`` and
#: ``swapped``.
SWITCH_STEPS = (
    "switch:write",
    "switch:flush",
    "switch:marker",
    "switch:link",
    "switch:swap",
    "switch:swapped",
    "switch:adopt",
    "switch:cleanup",
    "switch:done",
)
#: Phases every run of the test aims a kill at once, in this order, before purely random kills.
TARGETS = (
    "start",
    "read",
    "check",
    "shacl",
    "staging:copy",
    "staging:update",
    "derive",
    *(step for step in SWITCH_STEPS if step != "switch:done"),
)
#: The phases CI aims at (one in each part of the ingest); the long form aims at all.
SHORT_TARGETS = ("shacl", "staging:update", "derive", "switch:write", "switch:swap")
#: The phases of the switch, aimed at in a store of the first layout (decision 0019).
SWITCH_TARGETS = ("switch:write", "switch:marker", "switch:swap", "switch:swapped", "switch:adopt")
#: Phases in which the process may have committed a transaction but not yet rewritten the
#: version marker (the next writable opening repairs it).
MARKER_LAGS = {f"write{n}:{step}" for n in (1, 2, 3) for step in ("update", "flush", "marker")}


def kill_runs(
    prepared: Prepared,
    tmp_path: Path,
    runs: int,
    targets: Sequence[str],
    *,
    first_layout: bool = False,
) -> None:
    """SIGKILL an ingest ``runs`` times, first once in each of ``targets``, then at random
    points: the store opens and holds the old version or the new one, whole, in the
    sources, the provenance and the derived graph, and no staging copy is left once it has
    been opened again. With ``first_layout``, each run starts from a store of the layout
    before decision 0019, which the ingest's switch turns into a store of versions."""
    rng = random.Random(20261126)
    timeline = prepared.timeline
    total = timeline[-1][0]
    durations = {
        label: max(later - at, 0.001)
        for (at, label), (later, _) in zip(timeline, timeline[1:], strict=False)
    }
    aimed = [t for t in targets if t in durations]
    assert (prepared.transactions, prepared.switches) == (0, 1), prepared.timeline
    plan: list[tuple[str | None, float]] = [(t, rng.uniform(0, durations[t])) for t in aimed]
    while len(plan) < runs:
        plan.append((None, rng.uniform(0, total)))
    landed: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    marker_lagged, leftovers = [], []
    started = time.monotonic()
    run_dir = tmp_path / "run"
    for number, (target, delay) in enumerate(plan):
        copy_store(prepared.before_dir, run_dir, first_layout=first_layout)
        watch = PhaseWatch(ingest_args(run_dir, prepared.new_files))
        if target is None or watch.wait_for(target):
            time.sleep(delay)
        watch.process.send_signal(signal.SIGKILL)
        code = watch.finish()
        labels = watch.labels()
        where = "finished" if code == 0 else labels[-1] if labels else "before python"
        assert code in (0, -signal.SIGKILL), "".join(watch.other)
        landed[where] += 1
        staged = list(tmp_path.glob(".run.staging-*")) + versions_beside(run_dir)
        if staged:
            leftovers.append(where)
        found = snapshot(run_dir)
        what = f"run {number} (killed in {where})"
        assert PENDING_LINE not in found.derived, what
        sources = which(found.sources, prepared.before.sources, prepared.after.sources, what)
        provenance = which(
            found.provenance, prepared.before.provenance, prepared.after.provenance, what
        )
        derived = which(found.derived, prepared.before.derived, prepared.after.derived, what)
        assert provenance == sources == derived, (
            f"{what}: {sources} sources, {provenance} provenance, {derived} derived results"
        )
        if sources == "old":
            assert found.version == prepared.before.version, what
        else:
            assert found.version not in (None, prepared.before.version), what
        # The version marker says the stored version, except after a kill between a commit
        # and the marker's rewrite; the next writable opening puts it right.
        if found.marker != found.version:
            assert where in MARKER_LAGS, f"{what}: marker {found.marker} for {found.version}"
            marker_lagged.append(where)
        store = open_store(run_dir)
        assert store.dataset_version() == found.version
        store.close()
        assert read_version_marker(run_dir) == found.version
        assert not list(tmp_path.glob(".run.staging-*")), f"{what}: a staging copy is left"
        assert not versions_beside(run_dir), f"{what}: left {versions_beside(run_dir)}"
        outcomes[sources] += 1
        if number < len(plan) - 1:
            shutil.rmtree(run_dir)
    report = {
        "runs": len(plan),
        "seconds": round(time.monotonic() - started, 1),
        "reference_seconds": round(total, 2),
        "transactions_per_ingest": prepared.transactions,
        "first_layout": first_layout,
        "landed": dict(landed),
        "outcomes": dict(outcomes),
        "staging_copy_left_by_kill_in": leftovers,
        "marker_lagged_in": marker_lagged,
    }
    print("SIGKILL:", json.dumps(report))
    # The last killed store takes a complete ingest and then validates.
    watch = PhaseWatch(ingest_args(run_dir, prepared.new_files))
    assert watch.finish() == 0, "".join(watch.other)
    found = snapshot(run_dir)
    assert (found.sources, found.provenance, found.derived) == (
        prepared.after.sources,
        prepared.after.provenance,
        prepared.after.derived,
    )
    done = run_command(run_dir, "validate")
    assert done.returncode == 0, done.stdout + done.stderr
    # Kills landed before, in and after the derivation over the staging copy and the switch.
    if not first_layout:
        assert {"shacl", "derive"} <= set(landed), landed
    assert any(where.startswith("switch:") for where in landed), landed
    assert outcomes["old"] and outcomes["new"], outcomes


@pytest.mark.slow
def test_killed_ingest_leaves_old_or_new_version(prepared: Prepared, tmp_path: Path) -> None:
    """SIGKILL an ingest in each part of it (CI's short form)."""
    kill_runs(prepared, tmp_path, KILL_RUNS, SHORT_TARGETS)


@pytest.mark.slow
@pytest.mark.long
def test_killed_ingest_leaves_old_or_new_version_long(prepared: Prepared, tmp_path: Path) -> None:
    """SIGKILL an ingest 20 times, once in every phase, then at random points."""
    kill_runs(prepared, tmp_path, LONG_KILL_RUNS, TARGETS)


@pytest.mark.slow
def test_killed_switch_of_a_first_layout_store_leaves_old_or_new_version(
    prepared: Prepared, tmp_path: Path
) -> None:
    """SIGKILL the first ingest into a store written before decision 0019 in each step of
    its switch (the step that gives it the ``live`` link)."""
    kill_runs(prepared, tmp_path, len(SWITCH_TARGETS), SWITCH_TARGETS, first_layout=True)


@pytest.mark.slow
@pytest.mark.parametrize("first_layout", [False, True], ids=["versions", "first-layout"])
def test_kill_in_each_step_of_the_switch(
    prepared: Prepared, tmp_path: Path, first_layout: bool
) -> None:
    """Stop the ingest in each step of its switch (``WHATWORKS_DEBUG_PAUSE``) and SIGKILL it
    there: before the rename the store holds the old version whole, from the rename on the
    new one; what the kill left goes at the next writable opening."""
    run_dir = tmp_path / "run"
    seen = []
    for step in SWITCH_STEPS:
        copy_store(prepared.before_dir, run_dir, first_layout=first_layout)
        watch = PhaseWatch(ingest_args(run_dir, prepared.new_files), env={DEBUG_PAUSE_ENV: step})
        try:
            reached = watch.wait_for(step)
        finally:
            watch.process.send_signal(signal.SIGKILL)
        code = watch.finish()
        assert reached and code == -signal.SIGKILL, (step, watch.labels(), "".join(watch.other))
        found = snapshot(run_dir)
        expected = prepared.after if SWITCH_STEPS.index(step) > 4 else prepared.before
        assert (found.sources, found.provenance, found.derived) == (
            expected.sources,
            expected.provenance,
            expected.derived,
        ), step
        assert found.marker == found.version, step
        if expected is prepared.before:
            assert found.version == prepared.before.version, step
        open_store(run_dir).close()
        assert not versions_beside(run_dir), (step, versions_beside(run_dir))
        assert snapshot(run_dir) == found, step
        seen.append((step, "new" if expected is prepared.after else "old"))
        shutil.rmtree(run_dir)
    print("SWITCH KILLS:", json.dumps(seen))


@pytest.mark.slow
def test_rerun_after_kill_while_deriving_publishes_the_new_version(
    prepared: Prepared, tmp_path: Path
) -> None:
    """Kill the ingest as it computes the derived graph (over its staging copy): the store
    holds the old version whole; run it again: the new version, derived graph included."""
    store = tmp_path / "store"
    copy_store(prepared.before_dir, store)
    watch = PhaseWatch(ingest_args(store, prepared.new_files))
    try:
        reached = watch.wait_for("derive")
    finally:
        watch.process.send_signal(signal.SIGKILL)
        watch.finish()
    assert reached, "the ingest never reached the derive step"
    found = snapshot(store)
    assert (found.sources, found.provenance, found.derived) == (
        prepared.before.sources,
        prepared.before.provenance,
        prepared.before.derived,
    )
    watch = PhaseWatch(ingest_args(store, prepared.new_files))
    assert watch.finish() == 0, "".join(watch.other)
    found = snapshot(store)
    assert (found.sources, found.provenance) == (prepared.after.sources, prepared.after.provenance)
    assert found.derived == prepared.after.derived, "the derived graph is stale"
    assert not list(tmp_path.glob(".store.staging-*")) and not versions_beside(store)


# -- 2. Ingests racing queries ------------------------------------------------------------

STUDIES_QUERY = "SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}".format(
    graph=source_graph("fault.studies")
)
EMMIE_VALUE = "https://w3id.org/whatworks/emmie#value"
DERIVED_QUERY = f"SELECT ?e ?v WHERE {{ GRAPH <{DERIVED_GRAPH}> {{ ?e <{EMMIE_VALUE}> ?v }} }}"

#: Runs in another process: opens the store read-only for every round, asks both queries and
#: the dataset version of that same view, prints one JSON line per round, until told to stop.
READER = r"""
import hashlib, io, json, sys
from pathlib import Path
import pyoxigraph as ox
from whatworks.core.store import open_store

store_dir, stop, queries = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])


def digest(result):
    out = io.BytesIO()
    result.serialize(out, ox.QueryResultsFormat.CSV)
    rows = sorted(out.getvalue().decode().splitlines()[1:])
    return [len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]]


while not stop.exists():
    try:
        store = open_store(store_dir, read_only=True)
        answer = {"version": store.dataset_version()}
        for name, text in queries.items():
            answer[name] = digest(store.query(text))
        store.close()
    except Exception as exc:
        answer = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(answer), flush=True)
"""


RACED_A_WRITER = re.compile(r"query failed in the engine: .*No such file or directory")


def csv_digest(text: str) -> tuple[int, str]:
    rows = sorted(text.splitlines()[1:])
    return len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]


def expected_answers(store_dir: Path) -> dict[str, tuple[int, str]]:
    import io

    import pyoxigraph as ox

    store = open_store(store_dir, read_only=True)
    try:
        answers = {}
        for name, text in (("studies", STUDIES_QUERY), ("derived", DERIVED_QUERY)):
            result = store.query(text)
            out = io.BytesIO()
            assert isinstance(result, ox.QuerySolutions)
            result.serialize(out, ox.QueryResultsFormat.CSV)
            answers[name] = csv_digest(out.getvalue().decode())
        return answers
    finally:
        store.close()


def ask_server(server: LiveServer, query: str) -> tuple[tuple[int, str], str]:
    url = server.sparql + "?" + urllib.parse.urlencode({"query": query})
    request = urllib.request.Request(url, headers={"Accept": "text/csv"})
    with urllib.request.urlopen(request, timeout=60) as response:
        body = response.read().decode()
        etag = response.headers["ETag"]
    version = etag.removeprefix('W/"').rsplit("-", 1)[0]
    return csv_digest(body), version


@pytest.fixture
def racing_store(tmp_path: Path) -> Iterator[tuple[Path, list[Path], list[Path]]]:
    a = write_version(tmp_path / "a", "a", 60)
    b = write_version(tmp_path / "b", "b", 45)
    store = tmp_path / "store"
    done = run_command(store, "ingest", "-q", "--id-base", SYNTHETIC_BASE, *map(str, a))
    assert done.returncode == 0, done.stderr[-3000:]
    yield store, a, b


@pytest.mark.slow
def test_queries_during_ingests_see_one_version(
    racing_store: tuple[Path, list[Path], list[Path]], tmp_path: Path
) -> None:
    """Ingests switch the store between versions a and b while an embedded read-only reader
    (another process) and clients of a live server ask questions: every answer is exactly
    a's or b's, and the embedded reader's dataset version belongs to the same version."""
    store, a, b = racing_store
    answers = {"a": expected_answers(store)}
    first = open_store(store, read_only=True)
    version_of = {first.dataset_version(): "a"}
    first.close()
    server = LiveServer(store, env={"WHATWORKS_QUERY_TIMEOUT": "60"})
    stop_file = tmp_path / "stop"
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            READER,
            str(store),
            str(stop_file),
            json.dumps({"studies": STUDIES_QUERY, "derived": DERIVED_QUERY}),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    served: list[tuple[str, tuple[int, str], str]] = []
    health: list[str] = []
    failures: list[str] = []
    stopping = threading.Event()

    def client(name: str, query: str) -> None:
        while not stopping.is_set():
            try:
                digest, version = ask_server(server, query)
                served.append((name, digest, version))
                with urllib.request.urlopen(server.url + "/health", timeout=30) as response:
                    health.append(json.loads(response.read())["version"])
            except urllib.error.HTTPError as exc:
                failures.append(f"{name}: {exc}: {exc.read()[:500]!r}")
            except OSError as exc:
                failures.append(f"{name}: {exc}")

    clients = [
        threading.Thread(target=client, args=("studies", STUDIES_QUERY)),
        threading.Thread(target=client, args=("derived", DERIVED_QUERY)),
    ]
    try:
        for thread in clients:
            thread.start()
        sequence = ["b", "a", "b"]
        for name in sequence:
            watch = PhaseWatch(ingest_args(store, a if name == "a" else b))
            assert watch.finish() == 0, "".join(watch.other)[-3000:]
            version_of[read_version_marker(store)] = name
    finally:
        stopping.set()
        for thread in clients:
            thread.join(timeout=120)
        stop_file.touch()
        out, err = reader.communicate(timeout=120)
        log = server.stop()
    answers["b"] = expected_answers(store)
    assert answers["a"]["studies"][0] != answers["b"]["studies"][0]
    assert answers["a"]["derived"] != answers["b"]["derived"]
    # A 500 is allowed only with the known cause: a query worker's read-only opening raced
    # the ingest's compaction (pyoxigraph: "undefined behaviour"; RocksDB says a table file
    # is missing). Any other failure fails the test. (Report of issue 8: server fix.)
    raced = [line for line in log.splitlines() if RACED_A_WRITER.search(line)]
    unexplained = [f for f in failures if "500" not in f]
    assert not unexplained and len(failures) <= len(raced), (failures[:5], log[-4000:])
    assert reader.returncode == 0, err
    state_of = {
        part: {tuple(answers[v][part]): v for v in ("a", "b")} for part in ("studies", "derived")
    }
    # The embedded reader: each answer is one version's, and the version it reports with it
    # is that version's (every version is one an ingest made: one transaction each).
    rounds = [json.loads(line) for line in out.splitlines()]
    errors = [r["error"] for r in rounds if "error" in r]
    assert not errors, errors[:5]
    embedded: Counter[str] = Counter()
    for answer in rounds:
        studies = state_of["studies"].get(tuple(answer["studies"]))
        derived = state_of["derived"].get(tuple(answer["derived"]))
        assert studies is not None, f"a mixed answer: {answer}"
        assert derived is not None, f"a mixed derived answer: {answer}"
        known = version_of.get(answer["version"])
        assert known is not None, f"an intermediate version: {answer}"
        assert (studies, derived) == (known, known), (answer, known)
        embedded["matching its version"] += 1
    # The server: every answer is one version's; its ETag names the dataset version the
    # server saw when the request came in (the answer may come from a newer one).
    server_counts: Counter[str] = Counter()
    for name, digest, version in served:
        state = state_of[name].get(digest)
        assert state is not None, f"a mixed {name} answer from the server: {digest}"
        known = version_of.get(version)
        server_counts[
            "etag version unknown"
            if known is None
            else "etag matches"
            if known == state
            else "etag older"
        ] += 1
    # /health names a version some ingest made (the last one included once it finished).
    assert set(version_of) & set(health), health[-3:]
    report = {
        "ingests": len(sequence),
        "embedded_answers": len(rounds),
        "embedded": dict(embedded),
        "server_answers": len(served),
        "server": dict(server_counts),
        "health_checks": len(health),
        "server_errors_from_read_only_race": len(failures),
        "states_seen_by_server": dict(Counter(state_of[n][d] for n, d, _ in served)),
    }
    print("RACE:", json.dumps(report))
    assert "Traceback" not in log, log[-3000:]
    assert len(rounds) >= 10 and len(served) >= 10, report
    assert {"a", "b"} <= {state_of["studies"][tuple(r["studies"])] for r in rounds}


# -- 3. Full disk ---------------------------------------------------------------------------


def assert_clear_failure(code: int, stderr: str, store: Path, cause: str) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr, stderr
    message = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert message, stderr
    assert str(store) in message[0] and cause in message[0], message


@pytest.mark.slow
def test_file_size_limit_fails_cleanly(prepared: Prepared, tmp_path: Path) -> None:
    """An ingest whose writes fail (RLIMIT_FSIZE, as a stand-in for a full disk) fails with one
    clear message naming the store and the cause, and leaves the previous version whole."""
    results = []
    # Too small to open the store; then too small for the sources' transaction.
    for limit in (20_000, 150_000):
        store = tmp_path / f"limit-{limit}"
        copy_store(prepared.before_dir, store)
        watch = PhaseWatch(ingest_args(store, prepared.new_files), env={"FAULT_FSIZE": str(limit)})
        code = watch.finish()
        stderr = "".join(watch.other)
        assert_clear_failure(code, stderr, store, "size limit")
        found = snapshot(store)
        assert found.sources == prepared.before.sources
        assert found.provenance == prepared.before.provenance
        assert found.derived == prepared.before.derived
        assert found.version == found.marker == prepared.before.version
        results.append((limit, watch.labels()[-2], stderr.strip()))
    print("FSIZE:", json.dumps(results))


def _mount_tmpfs(target: Path, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    target.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.mark.slow
def test_full_tmpfs_fails_cleanly(prepared: Prepared, tmp_path: Path) -> None:
    """The store on an 8 MB tmpfs, filled up before the ingest: a clear error and the previous
    version whole; once space is freed the same ingest succeeds."""
    mount = tmp_path / "small"
    if not _mount_tmpfs(mount, "8m"):
        pytest.skip("cannot mount a tmpfs here (not root, or the container forbids it)")
    results: list[tuple[object, ...]] = []
    try:
        store = mount / "store"
        copy_store(prepared.before_dir, store)
        open_store(store).close()  # recovery folds the old logs away: free space settles
        filler = mount / "filler"
        for room in (64 * 1024, 256 * 1024):
            stat = os.statvfs(mount)
            with filler.open("wb") as handle:
                handle.write(b"\0" * max(stat.f_bavail * stat.f_frsize - room, 0))
            watch = PhaseWatch(ingest_args(store, prepared.new_files))
            code = watch.finish()
            stderr = "".join(watch.other)
            filler.unlink()
            found = snapshot(store)
            if code == 0:  # there was room after all: then the new version, whole
                assert (found.sources, found.derived) == (
                    prepared.after.sources,
                    prepared.after.derived,
                )
                results.append((room, "succeeded"))
                break
            assert_clear_failure(code, stderr, store, "disk is full")
            assert found.sources == prepared.before.sources
            assert found.provenance == prepared.before.provenance
            assert found.derived == prepared.before.derived
            assert found.version == found.marker == prepared.before.version
            results.append((room, watch.labels()[-2], stderr.strip()))
        print("TMPFS:", json.dumps(results))
        assert results[0][1] != "succeeded", results
        if results[-1][1] != "succeeded":
            watch = PhaseWatch(ingest_args(store, prepared.new_files))
            assert watch.finish() == 0, "".join(watch.other)
            found = snapshot(store)
            assert (found.sources, found.derived) == (
                prepared.after.sources,
                prepared.after.derived,
            )
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True, check=False)
