"""The same integration tests on every store: embedded, Oxigraph server, Virtuoso.

Each store holds the bundled evidence, loaded through ``whatworks load``. Read-only
tests come first and compare every catalogue answer with the embedded reference store;
the writing tests after them use synthetic graphs (pytest keeps this order within one
store).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from rdflib import Graph, Literal, URIRef
from SPARQLWrapper import JSON, SPARQLWrapper

from tests.backends.servers import Backend, named_cases
from tests.conftest import SYNTHETIC_BASE, LiveServer, synthetic_study, write_sheet
from whatworks.core import catalogue
from whatworks.core.catalogue import plain_value, sparql_prologue
from whatworks.core.errors import AnswerTooLarge, QueryTimeout
from whatworks.core.namespaces import source_graph
from whatworks.core.query_pool import BOOLEAN, GRAPH, SOLUTIONS, Job
from whatworks.core.store import Store, open_store
from whatworks.ingest.pipeline import ingest

LABEL = URIRef("http://www.w3.org/2000/01/rdf-schema#label")
#: Columns that differ between two loads of the same files (when and by which run).
VOLATILE = {"loaded_at", "activity"}
#: The tests check answers, not speed: a generous query time limit for a busy CI machine.
SLOW_MACHINE = {"WHATWORKS_QUERY_TIMEOUT": "120"}


def normal(value: Any) -> Any:
    """A plain value comparable across stores (numbers to 9 significant digits)."""
    if isinstance(value, float):
        return float(f"{value:.9g}") if math.isfinite(value) else str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def answer(store: Store, name: str, given: dict[str, str]) -> list[str]:
    """The rows of a catalogue query as sorted, normalised JSON lines."""
    query = catalogue.get(name)
    result = store.query(sparql_prologue() + query.text, parameters=query.bindings(given))
    document = json.loads(result.serialize(format=_JSON) or b"{}")  # type: ignore[union-attr]
    rows = document.get("results", {}).get("bindings", [])
    return sorted(
        json.dumps(
            {k: normal(plain_value(v)) for k, v in row.items() if k not in VOLATILE},
            sort_keys=True,
        )
        for row in rows
    )


_JSON = __import__("pyoxigraph").QueryResultsFormat.JSON


@pytest.fixture(scope="module")
def reference(bundled_store: Path) -> dict[str, list[str]]:
    store = open_store(bundled_store, read_only=True)
    try:
        return {name: answer(store, name, given) for name, given in named_cases()}
    finally:
        store.close()


# --- read-only: the same answers everywhere --------------------------------------------


def test_loaded_evidence_validates(backend: Backend) -> None:
    done = backend.run("validate")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "conforms" in done.stdout


#: Where Virtuoso 7.2 answers a catalogue query differently, and why (observed here, and
#: listed in docs/remote-stores.md). Strict: a deviation that goes away fails the test, so
#: the list stays true.
_BOOLEANS = "computes boolean expressions (BOUND, EXISTS, comparisons) as integers 0/1"
_SP031 = "refuses the query: SPARQL compiler internal error SP031 (ssg_print_rvr_fixed_val)"
KNOWN_DEVIATIONS: dict[str, dict[str, str]] = {
    "virtuoso": {
        "comparable_estimates": _BOOLEANS + ", and counts no proxy where there is one",
        "effects_for_population": _SP031,
        "emmie_coverage_by_type": 'gives an empty GROUP_CONCAT as "" inside OPTIONAL '
        "where the embedded store leaves it unbound",
        "favourable_effects_by_outcome": _SP031,
        "looked_after_trend_by_region": "divides integers as integers (17.0 for 17.8 %)",
        "mechanisms_of_intervention": _BOOLEANS,
        "partly_verified_or_proxy": _BOOLEANS,
        "what_works_for_whom": _BOOLEANS,
    }
}


#: Deviations seen in some runs only (not strict: the answer is usually right).
INTERMITTENT_DEVIATIONS: dict[str, dict[str, str]] = {
    "virtuoso": {
        # Seen once in the last 5 CI runs (2026-11-26): 13,580 rows, one per record of the
        # store, instead of the claim's 1; as if the claim's BIND, written as a constant at
        # the head of the subquery, were evaluated after its OPTIONALs.
        "provenance_of_claim": "sometimes answers for every record instead of the claim's",
    }
}


@pytest.mark.parametrize(("name", "given"), named_cases(), ids=[n for n, _ in named_cases()])
def test_catalogue_answers_match_the_embedded_store(
    backend: Backend,
    reference: dict[str, list[str]],
    name: str,
    given: dict[str, str],
    request: pytest.FixtureRequest,
) -> None:
    reason = KNOWN_DEVIATIONS.get(backend.name, {}).get(name)
    if reason:
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"{backend.name} {reason}"))
    sometimes = INTERMITTENT_DEVIATIONS.get(backend.name, {}).get(name)
    if sometimes:
        request.applymarker(pytest.mark.xfail(strict=False, reason=f"{backend.name} {sometimes}"))
    store = backend.open(read_only=True)
    try:
        got = answer(store, name, given)
    finally:
        store.close()
    assert got == reference[name]


def test_graphs_and_version_are_listed(backend: Backend, bundled_store: Path) -> None:
    store = backend.open(read_only=True)
    embedded = open_store(bundled_store, read_only=True)
    try:
        assert store.graph_names() == embedded.graph_names()
        assert store.dataset_version()
    finally:
        store.close()
        embedded.close()


# --- bounded queries: what the server runs (Store.run_bounded) ------------------------

STUDY = "https://w3id.org/whatworks/emmie#Study"
#: The media types the server offers, per result kind.
RESULT_TYPES = (
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
)
BOOLEAN_TYPES = RESULT_TYPES[:2]
GRAPH_TYPES = (
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/rdf+xml",
    "application/trig",
    "application/n-quads",
)
BOUNDED_CASES = (
    [(SOLUTIONS, f"SELECT DISTINCT ?s WHERE {{ ?s a <{STUDY}> }}", m) for m in RESULT_TYPES]
    + [(BOOLEAN, f"ASK {{ ?s a <{STUDY}> }}", m) for m in BOOLEAN_TYPES]
    + [
        (GRAPH, f"CONSTRUCT {{ ?s a <{STUDY}> }} WHERE {{ ?s a <{STUDY}> }}", m)
        for m in GRAPH_TYPES
    ]
)
#: Slow on every store but not endless (a store answering over HTTP goes on with it after
#: the client has given up): 1.7 million pairs, each compared as strings. Measured: 12 to 16 s
#: on the embedded store; Virtuoso 7.2 compared fewer than 0.8 million pairs a second.
#: Tens of millions of string comparisons (every statistics observation against every
#: other): well past 1 s on every backend, however quiet the machine (Virtuoso answered the
#: observations against the authorities alone within 1 s).
SLOW_QUERY = (
    "SELECT (COUNT(*) AS ?n) WHERE { "
    "?a a <http://purl.org/linked-data/cube#Observation> . "
    "?b a <http://purl.org/linked-data/cube#Observation> . "
    "FILTER(CONCAT(STR(?a), STR(?b)) > CONCAT(STR(?b), STR(?a))) }"
)


def _studies(bundled_store: Path) -> set[str]:
    store = open_store(bundled_store, read_only=True)
    try:
        return {str(row["s"]) for row in store.select(f"SELECT ?s WHERE {{ ?s a <{STUDY}> }}")}
    finally:
        store.close()


@pytest.mark.parametrize(
    ("kind", "query", "media"), BOUNDED_CASES, ids=[f"{k}-{m}" for k, _, m in BOUNDED_CASES]
)
def test_bounded_run_in_each_offered_media_type(
    backend: Backend, bundled_store: Path, kind: str, query: str, media: str
) -> None:
    import pyoxigraph as ox

    store = backend.open(read_only=True)
    try:
        answer = store.run_bounded(Job(query, {kind: media}), timeout=120)
    finally:
        store.close()
    assert (answer.kind, answer.media_type) == (kind, media)
    assert answer.seconds >= 0
    studies = _studies(bundled_store)
    if kind == GRAPH:
        triples = list(ox.parse(answer.body, ox.RdfFormat.from_media_type(media)))
        assert {t.subject.value for t in triples} == studies  # type: ignore[union-attr]
        return
    if media == "text/csv":  # (pyoxigraph reads no CSV results)
        assert set(answer.body.decode().split("\r\n")[1:]) - {""} == studies
        return
    result = ox.parse_query_results(answer.body, ox.QueryResultsFormat.from_media_type(media))
    if kind == BOOLEAN:
        assert isinstance(result, ox.QueryBoolean) and bool(result)
    else:
        assert {row["s"].value for row in result} == studies  # type: ignore[union-attr, index]


def test_bounded_run_over_a_given_dataset(backend: Backend) -> None:
    """The protocol's default graph replaces the union: only that graph's triples count."""
    store = backend.open(read_only=True)
    try:
        graph = store.graph_names()[0]
        expected = sum(1 for _ in store.triples(graph))
        job = Job(
            "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
            {SOLUTIONS: RESULT_TYPES[0]},
            default_graphs=(str(graph),),
        )
        answer = store.run_bounded(job, timeout=120)
    finally:
        store.close()
    rows = json.loads(answer.body)["results"]["bindings"]
    assert int(rows[0]["n"]["value"]) == expected


def test_bounded_run_past_the_byte_cap_is_refused_whole(backend: Backend) -> None:
    store = backend.open(read_only=True)
    try:
        job = Job(
            "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
            {GRAPH: "application/n-triples"},
            max_bytes=20000,
        )
        with pytest.raises(AnswerTooLarge, match="larger than 20000 bytes"):
            store.run_bounded(job, timeout=120)
    finally:
        store.close()


def test_bounded_run_past_the_time_limit_is_stopped(backend: Backend) -> None:
    store = backend.open(read_only=True)
    try:
        store.run_bounded(Job("ASK { ?s ?p ?o }", {BOOLEAN: RESULT_TYPES[0]}), timeout=120)
        started = time.monotonic()
        with pytest.raises(QueryTimeout, match="longer than 1 s"):
            store.run_bounded(Job(SLOW_QUERY, {SOLUTIONS: RESULT_TYPES[0]}), timeout=1)
        assert time.monotonic() - started < 30
    finally:
        store.close()


def test_server_over_the_store(backend: Backend, reference: dict[str, list[str]]) -> None:
    server = LiveServer(backend.store, env={**backend.env, **SLOW_MACHINE})  # type: ignore[arg-type]
    try:
        store = backend.open(read_only=True)
        version = store.dataset_version()
        store.close()
        health = requests.get(server.url + "/health", timeout=30).json()
        assert health["version"] == version

        client = SPARQLWrapper(server.sparql)
        client.setReturnFormat(JSON)
        client.setQuery(
            "SELECT (COUNT(DISTINCT ?s) AS ?n) "
            "WHERE { ?s a <https://w3id.org/whatworks/emmie#Study> }"
        )
        rows = client.queryAndConvert()["results"]["bindings"]  # type: ignore[index]
        assert int(rows[0]["n"]["value"]) > 0

        response = requests.get(
            server.url + "/api/queries/what_works_for_whom",
            params={"outcome": "entry"},
            headers={"Accept": "application/sparql-results+json"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        got = sorted(
            json.dumps({k: normal(plain_value(v)) for k, v in row.items()}, sort_keys=True)
            for row in response.json()["results"]["bindings"]
        )
        if "what_works_for_whom" not in KNOWN_DEVIATIONS.get(backend.name, {}):
            assert got == reference["what_works_for_whom"]
        else:
            assert len(got) == len(reference["what_works_for_whom"])

        update = requests.post(
            server.sparql,
            data={"update": f"INSERT DATA {{ <{SYNTHETIC_BASE}x> <{LABEL}> 'x' }}"},
            timeout=30,
        )
        assert update.status_code == 403
        for page in ("/", "/gap-map", "/explore?outcome=entry", "/local-authorities"):
            assert requests.get(server.url + page, timeout=60).status_code == 200, page
    finally:
        server.stop()


def test_export_holds_every_graph(backend: Backend, tmp_path: Path) -> None:
    out = tmp_path / "dump.nq"
    done = backend.run("export", "--format", "nquads", "--out", str(out))
    assert done.returncode == 0, done.stderr
    store = backend.open(read_only=True)
    try:
        graphs = store.graph_names()
        expected = {g: sum(1 for _ in store.triples(g)) for g in graphs}
    finally:
        store.close()
    import pyoxigraph as ox

    counts: dict[URIRef, int] = {}
    for quad in ox.parse(path=str(out), format=ox.RdfFormat.N_QUADS):
        name = URIRef(str(getattr(quad.graph_name, "value", "")))
        counts[name] = counts.get(name, 0) + 1
    for graph, count in expected.items():
        assert counts.get(graph) == count, graph


# --- writing ---------------------------------------------------------------------------


def labelled(*labels: str) -> Graph:
    graph = Graph()
    for i, label in enumerate(labels):
        graph.add((URIRef(f"{SYNTHETIC_BASE}thing/{i}"), LABEL, Literal(label)))
    return graph


def test_replace_graphs_is_exact(backend: Backend) -> None:
    graph = URIRef(f"{SYNTHETIC_BASE}graph/backend-test")
    store = backend.open()
    try:
        before = store.dataset_version()
        first = store.replace_graphs({graph: labelled("a", "b", "c")})
        assert sorted(str(o) for _, _, o in store.triples(graph)) == ["a", "b", "c"]
        assert graph in store.graph_names()
        second = store.replace_graphs({graph: labelled("a", "x", "c", 'é "quoted"\n')})
        assert sorted(str(o) for _, _, o in store.triples(graph)) == ["a", "c", "x", 'é "quoted"\n']
        third = store.replace_graphs({graph: []})
        assert list(store.triples(graph)) == []
        assert graph not in store.graph_names()
        assert len({before, first, second, third}) == 4
        assert store.dataset_version() == third
    finally:
        store.close()


def test_current_version_follows_a_write(backend: Backend) -> None:
    """The version the server tags answers with changes with the data, and bounded
    queries see the new data (the embedded store's workers reopen their view)."""
    graph = URIRef(f"{SYNTHETIC_BASE}graph/version-test")
    ask = Job(f'ASK {{ ?s <{LABEL}> "version-test" }}', {BOOLEAN: RESULT_TYPES[0]})
    store = backend.open()
    try:
        before = store.current_version()
        assert before
        assert json.loads(store.run_bounded(ask, timeout=120).body)["boolean"] is False
        written = store.replace_graphs({graph: labelled("version-test")})
        time.sleep(1.1)  # past a remote store's cached version
        assert store.current_version() == written != before
        assert json.loads(store.run_bounded(ask, timeout=120).body)["boolean"] is True
        store.replace_graphs({graph: []})
    finally:
        store.close()


def test_ingest_reingest_and_a_refused_sheet(backend: Backend, tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path, "backend.studies", [synthetic_study("b1"), synthetic_study("b2")])
    done = backend.run("ingest", "--id-base", SYNTHETIC_BASE, str(sheet))
    assert done.returncode == 0, done.stderr
    graph = source_graph("backend.studies")
    changed = write_sheet(
        tmp_path,
        "backend.studies",
        [synthetic_study("b1", title="Changed title"), synthetic_study("b3")],
    )
    done = backend.run("ingest", "--id-base", SYNTHETIC_BASE, str(changed))
    assert done.returncode == 0, done.stderr
    store = backend.open(read_only=True)
    try:
        titles = sorted(str(o) for s, p, o in store.triples(graph) if str(p).endswith("/title"))
        version = store.dataset_version()
    finally:
        store.close()
    assert titles == ["Changed title", "Synthetic study b3"]

    bad = write_sheet(tmp_path, "backend.studies", [synthetic_study("b1", year="not a year")])
    done = backend.run("ingest", "--id-base", SYNTHETIC_BASE, str(bad))
    assert done.returncode == 1
    assert "year" in done.stderr and "Traceback" not in done.stderr
    store = backend.open(read_only=True)
    try:
        assert store.dataset_version() == version
        assert (
            sorted(str(o) for s, p, o in store.triples(graph) if str(p).endswith("/title"))
            == titles
        )
    finally:
        store.close()


def test_derived_results_are_published_with_the_evidence(backend: Backend, tmp_path: Path) -> None:
    """An ingest computes the derived results over a private staging copy (on a remote
    store: its export, bulk-loaded locally) and sends them with the evidence in one
    write: each ingest moves the dataset version, and the derived results about the
    synthetic interventions are those an embedded store computes from the same files."""
    from tests.test_faults import write_version
    from whatworks.analysis.derived import DERIVED_GRAPH

    def synthetic_derived(store: Store) -> set[str]:
        times = re.compile(r"\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d)?")
        return {
            times.sub("T", f"{s.n3()} {p.n3()} {o.n3()}")
            for s, p, o in store.triples(DERIVED_GRAPH)
            if str(s).startswith(SYNTHETIC_BASE)
        }

    reference = open_store(tmp_path / "reference")
    for name, studies in (("a", 9), ("b", 6)):
        files = write_version(tmp_path / name, name, studies)
        ingest(files, reference, base=SYNTHETIC_BASE)
        before = _version(backend)
        done = backend.run("ingest", "-q", "--id-base", SYNTHETIC_BASE, *map(str, files))
        assert done.returncode == 0, done.stderr
        store = backend.open(read_only=True)
        try:
            found = synthetic_derived(store)
            after = store.dataset_version()
        finally:
            store.close()
        assert found and found == synthetic_derived(reference), name
        assert after != before
    reference.close()


def _version(backend: Backend) -> str | None:
    store = backend.open(read_only=True)
    try:
        return store.dataset_version()
    finally:
        store.close()


# --- a store that is down, slow or goes away (remote stores only) -----------------------


def test_unreachable_store_fails_clearly_and_quickly(tmp_path: Path) -> None:
    from tests.backends.servers import free_port

    url = f"http://127.0.0.1:{free_port()}/sparql"
    started = time.monotonic()
    done = subprocess.run(
        [str(Path(__import__("sys").executable).with_name("whatworks")), "--store", url, "stats"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "WHATWORKS_STORE_RETRIES": "2"},
        timeout=120,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode != 0
    assert "unavailable" in done.stderr and "cannot connect" in done.stderr, done.stderr
    assert "3 attempt(s)" in done.stderr
    assert "Traceback" not in done.stderr
    assert elapsed < 60  # 1.5 s of back-off plus start-up; a hang would hit the timeout


def test_silent_store_times_out(tmp_path: Path) -> None:
    """A store that accepts the connection and never answers: an error after the timeout."""
    import socket
    import threading

    from whatworks.core.errors import StoreError
    from whatworks.core.remote_store import RemoteSettings, RemoteStore

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/sparql"
    store = RemoteStore(RemoteSettings(query_url=url, update_url=url, timeout=1.0, retries=1))
    started = time.monotonic()
    with pytest.raises(StoreError, match="did not answer within 1 s"):
        store.dataset_version()
    assert time.monotonic() - started < 30
    listener.close()
    for conn in held:
        conn.close()


def test_store_going_away_and_coming_back(remote: Backend) -> None:
    """The server answers 503 (clean JSON) while the store is down and recovers after."""
    env = {**remote.env, **SLOW_MACHINE, "WHATWORKS_STORE_RETRIES": "1"}
    server = LiveServer(remote.store, env=env)  # type: ignore[arg-type]
    query = {
        "query": "SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://w3id.org/whatworks/emmie#Study> }"
    }
    try:
        assert requests.get(server.sparql, params=query, timeout=60).status_code == 200
        remote.stop()
        down = requests.get(server.sparql, params=query, timeout=60)
        assert down.status_code == 503, down.text
        assert "unavailable" in down.json()["error"]["detail"]
        time.sleep(1.1)  # past the cached version
        assert requests.get(server.url + "/health", timeout=60).status_code == 503
        remote.start()
        deadline = time.monotonic() + 60
        while True:
            again = requests.get(server.sparql, params=query, timeout=60)
            if again.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert again.status_code == 200, again.text
        assert requests.get(server.url + "/health", timeout=60).status_code == 200
    finally:
        if remote.process is None:
            remote.start()
        server.stop()


def test_a_large_remote_answer_is_capped(remote: Backend) -> None:
    """A remote answer over the result cap is refused whole with 422, as on the embedded
    store (the worker stops reading the store's answer at the cap)."""
    env = {**remote.env, **SLOW_MACHINE, "WHATWORKS_MAX_RESULT_BYTES": "20000"}
    server = LiveServer(remote.store, env=env)  # type: ignore[arg-type]
    try:
        query = {"query": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"}
        response = requests.get(server.sparql, params=query, timeout=120)
        assert response.status_code == 422, response.text[:300]
        assert "larger than 20000 bytes" in response.json()["error"]["detail"]
    finally:
        server.stop()
