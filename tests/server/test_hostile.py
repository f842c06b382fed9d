"""The hostile corpus (tests/server/hostile_corpus.py) against a real server over HTTP.

For every case: (a) the documented status, with the one JSON error shape where the
application answers; (b) an answer within the time limit plus a margin; (c) other clients
still answered (ASK {} from another thread while the slow cases run, and after them);
(d) nothing read from outside the store: a loopback listener, a canary file and a canary
named pipe named by the cases are never touched, and no answer holds the canary's mark.
At the end the store's dataset version and quad count are unchanged.

The slow cases run after the others and together (each in its own query worker, one spare
worker left for the other client), so they take about one time limit for all of them;
replacing the workers they stopped takes longer on a loaded machine, and meanwhile the
routes themselves are walked: every registered route, sent every writing method, answers
403 (the SPARQL endpoint's POST, with an update) or 405, and nothing changes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from tests.conftest import LiveServer
from tests.server.conftest import Listener, assert_error, http_request, raw_http
from tests.server.hostile_corpus import (
    CANARY_MARK,
    CASES,
    MAX_RESULT_BYTES,
    SYN,
    TIMEOUT,
    Case,
)

#: Allowed time to answer beyond the time limit, on a loaded machine.
MARGIN = 10.0
#: An ASK {} from another client while slow queries run must answer within this.
QUICK = 5.0
SLOW = [case for case in CASES if case.slow]
FAST = [case for case in CASES if not case.slow]
WORKERS = len(SLOW) + 1  # one spare for the other client's ASK {}
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
DIRECT = {"Content-Type": "application/sparql-query"}


# --- canaries: a file, a named pipe, a listener ----------------------------------------


class FifoCanary:
    """A named pipe that records whether anything opened it for reading.

    A thread holds the writing end open (``open`` blocks until a reader comes); a reader
    gets a line of Turtle with the canary's mark and is recorded.
    """

    def __init__(self, path: Path):
        self.path = path
        os.mkfifo(path)
        self.readers = 0
        self._closing = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            with open(self.path, "w", encoding="utf-8") as pipe:  # blocks until a reader
                if self._closing:
                    return
                self.readers += 1
                with contextlib.suppress(OSError):
                    pipe.write(f'<{SYN}fifo> <{SYN}p> "{CANARY_MARK}" .\n')

    def close(self) -> None:
        self._closing = True
        # be the reader the thread waits for, so that it ends
        descriptor = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        self._thread.join(timeout=5)
        os.close(descriptor)


@dataclass
class Context:
    server: LiveServer
    listener: Listener
    canary: Path
    fifo: FifoCanary
    before: tuple[str, str]
    #: case id -> (status, seconds)
    observed: dict[str, tuple[int, float]] = field(default_factory=dict)
    #: seconds of each ASK {} sent while the slow cases ran, and after them
    during: list[tuple[int, float]] = field(default_factory=list)
    after: list[tuple[int, float]] = field(default_factory=list)
    #: seconds until every query worker was back after the slow cases
    recovery: float = 0.0
    #: seconds from starting the server until every query worker was up
    startup: float = 0.0

    def fill(self, text: str) -> str:
        return (
            text.replace("@LISTENER@", self.listener.url)
            .replace("@CANARY@", self.canary.as_uri())
            .replace("@FIFO@", self.fifo.path.as_uri())
        )

    def fill_bytes(self, data: bytes) -> bytes:
        if b"@" not in data:
            return data
        return self.fill(data.decode("latin-1")).encode("latin-1")


@dataclass
class Outcome:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


def state_of(server: LiveServer) -> tuple[str, str]:
    """The dataset version and the number of quads: what a write would change."""
    version = requests.get(server.url + "/health", timeout=60).json()["version"]
    response = requests.post(server.sparql, data=COUNT.encode(), headers=DIRECT, timeout=60)
    assert response.status_code == 200, response.text
    return version, response.json()["results"]["bindings"][0]["n"]["value"]


def ask(server: LiveServer) -> tuple[int, float]:
    started = time.monotonic()
    response = requests.post(server.sparql, data=b"ASK {}", headers=DIRECT, timeout=60)
    seconds = time.monotonic() - started
    if response.status_code == 200:
        assert response.json()["boolean"] is True
    return response.status_code, seconds


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found.extend(int(c) for c in (task / "children").read_text().split())
    return found


def _state_and_ticks(pid: int) -> tuple[str, int]:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return "gone", 0
    return fields[0], int(fields[11]) + int(fields[12])  # state, utime + stime


def _idle_workers(server: LiveServer) -> int:
    """How many of the server's child processes sit idle (asleep, using no CPU)."""
    before = {pid: _state_and_ticks(pid) for pid in _children(server.process.pid)}
    time.sleep(0.5)
    idle = 0
    for pid, (state, ticks) in before.items():
        now_state, now_ticks = _state_and_ticks(pid)
        if state == now_state == "S" and ticks == now_ticks and ticks > 0:
            idle += 1
    return idle


def await_ready(server: LiveServer, workers: int, *, within: float = 180) -> float:
    """Wait until every query worker is up, then check with ``workers`` concurrent ASK {}.

    A worker that is still starting (seconds, on a loaded machine) counts a job's time from
    when it was sent, so a query sent to it can pass the time limit and have the worker
    replaced by another that is starting: so wait for the workers to sit idle (read from
    /proc) before sending anything. Returns the wait in seconds.
    """
    started = time.monotonic()
    linux = Path(f"/proc/{server.process.pid}/task").is_dir()
    while linux and _idle_workers(server) < workers:  # the resource tracker may idle too
        assert time.monotonic() - started < within, "the query workers did not start"
    if not linux:
        time.sleep(15)
    with ThreadPoolExecutor(workers) as pool:
        while True:
            answers = list(pool.map(lambda _: ask(server), range(workers)))
            if all(status == 200 for status, _ in answers):
                return time.monotonic() - started
            assert time.monotonic() - started < within, f"workers not ready: {answers}"
            time.sleep(2)


@pytest.fixture(scope="module")
def hostile(bundled_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    folder = tmp_path_factory.mktemp("hostile")
    canary = folder / "canary.ttl"
    canary.write_text(f'<{SYN}canary> <{SYN}p> "{CANARY_MARK}" .\n', encoding="utf-8")
    fifo = FifoCanary(folder / "canary.fifo")
    listener = Listener()
    server: LiveServer | None = None
    try:
        started = time.monotonic()
        server = LiveServer(
            bundled_store,
            env={
                "WHATWORKS_QUERY_TIMEOUT": f"{TIMEOUT:g}",
                "WHATWORKS_QUERY_WORKERS": str(WORKERS),
                "WHATWORKS_QUEUE_TIMEOUT": "60",
                "WHATWORKS_MAX_RESULT_BYTES": str(MAX_RESULT_BYTES),
            },
        )
        context = Context(server, listener, canary, fifo, ("", ""))
        context.startup = time.monotonic() - started
        context.startup += await_ready(server, WORKERS)
        context.before = state_of(server)
        yield context
    finally:
        if server is not None:
            server.stop()
        listener.close()
        fifo.close()


# --- sending a case --------------------------------------------------------------------


def send(context: Context, case: Case) -> Outcome:
    server = context.server
    headers = {name: context.fill(value) for name, value in case.headers}
    body = context.fill_bytes(case.body) if case.body is not None else None
    started = time.monotonic()
    if case.raw_target is not None:
        raw = raw_http(
            server.port,
            http_request(
                case.method,
                context.fill(case.raw_target),
                port=server.port,
                headers=headers,
                body=body,
            ),
            timeout=TIMEOUT + 60,
        )
        return Outcome(raw.status, raw.headers, raw.body, time.monotonic() - started)
    params = [(name, context.fill(value)) for name, value in case.params]
    response = requests.request(
        case.method,
        server.url + case.route,
        params=params,
        headers=headers,
        data=body,
        timeout=TIMEOUT + 60,
        allow_redirects=False,
    )
    seconds = time.monotonic() - started
    lowered = {name.lower(): value for name, value in response.headers.items()}
    return Outcome(response.status_code, lowered, response.content, seconds)


def check(context: Context, case: Case, outcome: Outcome) -> None:
    context.observed[case.id] = (outcome.status, outcome.seconds)
    # (a) the documented status, and the one JSON error shape
    assert outcome.status in case.expected, (case.id, outcome.status, outcome.body[:300])
    if outcome.status >= 400 and case.json_error and case.method != "HEAD":
        assert_error(outcome.status, outcome.headers, outcome.body, outcome.status)
    if case.method == "HEAD":
        assert outcome.body == b""
    if outcome.status == 200 and case.empty:
        assert json.loads(outcome.body)["results"]["bindings"] == [], case.id
    if outcome.status == 500 or b"Traceback" in outcome.body:
        pytest.fail(f"{case.id}: an internal error: {outcome.body[:300]!r}")
    # (b) answered within the time limit and a margin
    assert outcome.seconds < TIMEOUT + MARGIN, (case.id, outcome.seconds)
    # (d) nothing from outside the store in the answer
    assert CANARY_MARK.encode() not in outcome.body, case.id


@pytest.mark.parametrize("case", FAST, ids=[case.id for case in FAST])
def test_hostile_case(hostile: Context, case: Case) -> None:
    check(hostile, case, send(hostile, case))


# --- the slow cases, all at once -------------------------------------------------------


@pytest.fixture(scope="module")
def slow_outcomes(hostile: Context) -> dict[str, Outcome]:
    """Every slow case at once, and ASK {} from another client meanwhile."""
    await_ready(hostile.server, WORKERS)
    outcomes: dict[str, Outcome] = {}
    first_done = threading.Event()

    def run(case: Case) -> None:
        try:
            outcomes[case.id] = send(hostile, case)
        finally:
            first_done.set()

    def watch() -> None:
        # Until the first slow case ends: after that a stopped worker's replacement, still
        # starting, may be handed the next query (see await_ready).
        while True:
            hostile.during.append(ask(hostile.server))
            if first_done.wait(0.1):
                return

    with ThreadPoolExecutor(len(SLOW)) as pool:
        running = [pool.submit(run, case) for case in SLOW]
        time.sleep(0.3)  # let the slow ones take their workers
        watcher = threading.Thread(target=watch)
        watcher.start()
        for future in running:
            future.result()
    watcher.join()
    return outcomes


@pytest.mark.parametrize("case", SLOW, ids=[case.id for case in SLOW])
def test_slow_case(hostile: Context, slow_outcomes: dict[str, Outcome], case: Case) -> None:
    check(hostile, case, slow_outcomes[case.id])


def test_other_clients_answered_while_slow_cases_ran(
    hostile: Context, slow_outcomes: dict[str, Outcome]
) -> None:
    assert len(slow_outcomes) == len(SLOW)
    assert hostile.during, "no ASK {} was sent while the slow cases ran"
    for status, seconds in hostile.during:
        assert status == 200
        assert seconds < QUICK, hostile.during


# --- no route writes ---------------------------------------------------------------------

WRITING_METHODS = ("POST", "PUT", "DELETE", "PATCH", "MKCOL", "PROPPATCH")
READING_METHODS = {"GET", "HEAD", "OPTIONS"}


def _sample_path(rule: str) -> str:
    """A concrete path for a route rule (the value does not matter: 405 comes first)."""

    def value(match: re.Match[str]) -> str:
        options = re.findall(r"'([^']*)'", match.group(0))
        return options[0] if options else "sample"

    return re.sub(r"<[^<>]*>", value, rule)


class _NoPool:
    """Stands in for the query pool: listing the routes needs no worker processes."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def close(self) -> None:
        pass


def test_no_route_writes(
    hostile: Context,
    slow_outcomes: dict[str, Outcome],
    bundled_store: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from whatworks.core import query_pool
    from whatworks.server import app as application

    monkeypatch.setattr(query_pool, "QueryPool", _NoPool)
    app = application.create_app({"store": str(bundled_store), "query_workers": 1})
    rules = [(rule.rule, set(rule.methods or ())) for rule in app.url_map.iter_rules()]
    assert len(rules) >= 15
    for rule, methods in rules:  # only the SPARQL endpoint takes more than reading: POST
        assert methods - READING_METHODS <= ({"POST"} if rule == "/sparql" else set()), rule
    update = f'INSERT DATA {{ <{SYN}written> <{SYN}p> "written" }}'
    bodies = [
        ("application/sparql-update", update.encode()),
        ("application/x-www-form-urlencoded", ("update=" + quote(update)).encode()),
    ]
    sent = 0
    for rule, _ in rules:
        path = _sample_path(rule)
        for method in WRITING_METHODS:
            for content_type, body in bodies if method == "POST" else bodies[:1]:
                response = requests.request(
                    method,
                    hostile.server.url + path,
                    data=body,
                    headers={"Content-Type": content_type},
                    timeout=60,
                    allow_redirects=False,
                )
                expected = 403 if (rule, method) == ("/sparql", "POST") else 405
                assert_error(response.status_code, response.headers, response.content, expected)
                if expected == 405:
                    assert method not in response.headers.get("Allow", ""), (rule, method)
                sent += 1
    assert sent == len(rules) * (len(WRITING_METHODS) + 1)
    # (sent while the workers the slow cases stopped are replaced; now wait for them)
    hostile.recovery = await_ready(hostile.server, WORKERS)
    hostile.after.append(ask(hostile.server))
    status, seconds = hostile.after[-1]
    assert status == 200 and seconds < QUICK  # other clients are answered after them
    assert state_of(hostile.server) == hostile.before


# --- at the end: nothing read, nothing written -------------------------------------------


def test_zz_nothing_read_nothing_written(hostile: Context) -> None:
    """Runs last in this module (pytest keeps file order)."""
    assert hostile.listener.connections_after_settling() == []
    assert hostile.fifo.readers == 0
    assert state_of(hostile.server) == hostile.before
    log = hostile.server.log.read_text()
    assert "Traceback" not in log
    assert not re.search(r" (?:GET|POST|HEAD|PUT|DELETE|PATCH) \S+ 500 ", log)
    slow = [hostile.observed[c.id][1] for c in SLOW if c.id in hostile.observed]
    report = {
        "cases": len(CASES),
        "observed": len(hostile.observed),
        "slow": len(SLOW),
        "max_seconds_slow": round(max(slow, default=0.0), 2),
        "max_seconds_any": round(max((s for _, s in hostile.observed.values()), default=0.0), 2),
        "limit": TIMEOUT,
        "ask_during": [round(s, 2) for _, s in hostile.during],
        "ask_after": [round(s, 2) for _, s in hostile.after],
        "recovery_seconds": round(hostile.recovery, 1),
        "startup_seconds": round(hostile.startup, 1),
        "slow_statuses": {c.id: hostile.observed[c.id] for c in SLOW if c.id in hostile.observed},
        "listener_hits": len(hostile.listener.connections),
        "fifo_readers": hostile.fifo.readers,
    }
    print("hostile corpus:", json.dumps(report))


def test_nesting_is_measured_and_real_queries_are_far_below_the_limit() -> None:
    from whatworks.core.catalogue import catalogue
    from whatworks.server.sparql_text import MAX_NESTING, read_query

    assert read_query("ASK {}").depth == 1
    assert read_query("ASK { FILTER(!!(1 < 2)) }").depth == 4
    assert read_query("ASK { FILTER(?a<((1))&&1>0) }").depth == 4  # "<((1))&&1>" as code
    assert read_query('ASK { FILTER("((((((((" = "#{{{{{") } # ((((((((').depth == 2
    assert read_query("ASK " + "{" * 300 + "}" * 300).depth == 300
    for named in catalogue().values():
        assert read_query(named.sparql()).depth < MAX_NESTING // 8, named.name


def test_corpus_is_large_and_covers_the_issue() -> None:
    categories = {case.category for case in CASES}
    assert len(CASES) >= 40
    assert {"update", "service", "dataset", "time", "nesting", "size", "encoding"} <= categories
    assert SLOW and all(case.expected != (200,) for case in SLOW)
