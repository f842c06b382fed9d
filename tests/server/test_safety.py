"""Read-only and safe by default: updates refused on every route, nothing fetched (SERVICE,
FROM, graph parameters), queries stopped at the time limit, results, bodies and queries
bounded, a busy pool answered with 503, and one JSON shape for every error.

No timings are asserted beyond generous bounds: machines are noisy.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import LiveServer
from tests.server.conftest import (
    EMMIE,
    Listener,
    StartServer,
    assert_requests_error,
)

TIMEOUT = 3.0  # the live_server fixture's query time limit
#: A cartesian product of the whole store with itself, three times: it never finishes.
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
SYN = "https://w3id.org/whatworks/synthetic/id/"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DIRECT = {"Content-Type": "application/sparql-query"}


def sparql_get(server: LiveServer, query: str, **kwargs: Any) -> requests.Response:
    return requests.get(server.sparql, params={"query": query}, timeout=60, **kwargs)


def sparql_post(server: LiveServer, query: str) -> requests.Response:
    return requests.post(server.sparql, data=query.encode(), headers=DIRECT, timeout=60)


def rows(response: requests.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    bindings: list[dict[str, Any]] = response.json()["results"]["bindings"]
    return bindings


def state_of(server: LiveServer) -> tuple[str, str]:
    """The dataset version and the number of quads: what a write would change."""
    version = requests.get(server.url + "/health", timeout=30).json()["version"]
    [row] = rows(sparql_get(server, COUNT))
    return version, row["n"]["value"]


# --- updates ---------------------------------------------------------------------------

UPDATES = {
    "insert-data": f'INSERT DATA {{ <{SYN}x> <{SYN}p> "x" }}',
    "insert-data-graph": f'INSERT DATA {{ GRAPH <{SYN}g> {{ <{SYN}x> <{SYN}p> "x" }} }}',
    "delete-data": f"DELETE DATA {{ <{SYN}x> <{SYN}p> <{SYN}y> }}",
    "delete-where": "DELETE WHERE { ?s ?p ?o }",
    "delete-insert": "WITH <urn:g> DELETE { ?s ?p ?o } INSERT { ?o ?p ?s } WHERE { ?s ?p ?o }",
    "insert-from-subquery": "INSERT { ?s ?p ?o } WHERE { SELECT * { ?s ?p ?o } }",
    "load": "LOAD <file:///etc/passwd>",
    "load-http": "LOAD SILENT <{listener}> INTO GRAPH <urn:g>",
    "clear": "CLEAR ALL",
    "drop": "DROP ALL",
    "create": f"CREATE GRAPH <{SYN}new>",
    "add": "ADD DEFAULT TO <urn:g>",
    "move": "MOVE DEFAULT TO <urn:g>",
    "copy": "COPY DEFAULT TO <urn:g>",
    "lower-case-with-prologue": (
        f"# a comment first\nprefix syn: <{SYN}>\nclear silent graph syn:g ; drop all"
    ),
}


@pytest.mark.parametrize("name", UPDATES)
def test_update_refused_on_every_route(
    live_server: LiveServer, listener: Listener, name: str
) -> None:
    update = UPDATES[name].replace("{listener}", listener.url)
    before = state_of(live_server)
    url = live_server.sparql
    attempts = {
        "update= form": requests.post(url, data={"update": update}, timeout=30),
        "sparql-update body": requests.post(
            url,
            data=update.encode(),
            headers={"Content-Type": "application/sparql-update"},
            timeout=30,
        ),
        "update= in the URL": requests.get(url, params={"update": update}, timeout=30),
        "query= by GET": requests.get(url, params={"query": update}, timeout=30),
        "query= form": requests.post(url, data={"query": update}, timeout=30),
        "sparql-query body": sparql_post(live_server, update),
    }
    for route, response in attempts.items():
        error = assert_requests_error(response, 403)
        assert "read-only" in error["detail"], route
    assert state_of(live_server) == before
    assert listener.connections_after_settling() == []


# --- SERVICE: refused unless allow-listed, and never called ----------------------------


def service_queries(endpoint: str) -> dict[str, str]:
    """SERVICE calls to ``endpoint``, written every way the engine reads one, including
    ways that a lexer reading ``<`` or escapes differently from the engine would miss."""
    base = endpoint.rstrip("/")
    return {
        "plain": f"SELECT * WHERE {{ SERVICE <{endpoint}> {{ ?s ?p ?o }} }}",
        "silent-lower": f"select * {{ service silent <{endpoint}> {{ ?s ?p ?o }} }}",
        "no-spaces": f"SELECT*{{SERVICE<{endpoint}>{{?s ?p ?o}}}}",
        "comments": f"SELECT * {{ SERVICE # why\n <{endpoint}> # not\n {{ ?s ?p ?o }} }}",
        "prefixed": f"PREFIX e: <{base}/> SELECT * {{ SERVICE e:x {{ ?s ?p ?o }} }}",
        "glued-prefixed": f"PREFIX : <{base}/> SELECT * {{ SERVICE:x {{ ?s ?p ?o }} }}",
        "glued-silent": f"PREFIX : <{base}/> SELECT * {{ SERVICE SILENT:x {{ ?s ?p ?o }} }}",
        "variable": f"SELECT * {{ BIND(<{endpoint}> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}",
        "in-subquery": f"SELECT * {{ {{ SELECT * {{ SERVICE <{endpoint}> {{ ?s ?p ?o }} }} }} }}",
        "in-exists": (f"ASK {{ FILTER EXISTS {{ SERVICE <{endpoint}> {{ ?s ?p ?o }} }} }}"),
        # "<" as less-than, with "#" after it: a lexer that reads "<2)SERVICE:x#>" as an
        # IRI misses the SERVICE the engine sees
        "less-than-comment": (
            f"PREFIX : <{base}/> SELECT * {{ BIND(1 AS ?a) FILTER(?a<2)SERVICE:x#>\n"
            "{ ?s ?p ?o } }"
        ),
        "less-than-long-string": (
            f"SELECT * {{ BIND(1 AS ?a) FILTER(?a<2#>'''\n)SERVICE <{endpoint}> "
            "{ ?s ?p ?o }\n#'''\n}"
        ),
        "less-than-quote": (
            f"SELECT * {{ BIND(1 AS ?a) FILTER(?a<'>' || true) SERVICE <{endpoint}> "
            "{ ?s ?p ?o } FILTER(?a != 'x') }"
        ),
        # escapes the engine reads: \u in an IRI, \' in a prefixed name
        "escaped-iri": (
            f"SELECT * {{ OPTIONAL {{ ?s <{SYN}\\u0041'> ?o }} SERVICE <{endpoint}> "
            "{ ?a ?b ?c } FILTER(?s != 'x') }"
        ),
        "escaped-prefixed-name": (
            f"PREFIX syn: <{SYN}> SELECT * {{ OPTIONAL {{ ?s syn:a\\'b ?o }} "
            f"SERVICE <{endpoint}> {{ ?a ?b ?c }} FILTER(?s != 'x') }}"
        ),
    }


@pytest.mark.parametrize("name", list(service_queries("http://x/")))
def test_service_to_loopback_refused_and_never_called(
    live_server: LiveServer, listener: Listener, name: str
) -> None:
    query = service_queries(listener.url)[name]
    for response in (
        sparql_get(live_server, query),
        sparql_post(live_server, query),
        requests.post(live_server.sparql, data={"query": query}, timeout=30),
    ):
        error = assert_requests_error(response, 403)
        assert "SERVICE" in error["detail"]
    assert listener.connections_after_settling() == []


@pytest.mark.parametrize(
    "endpoint", ["file:///etc/passwd", "http://169.254.169.254/latest/meta-data/"]
)
def test_service_to_files_and_metadata_refused(live_server: LiveServer, endpoint: str) -> None:
    response = sparql_get(live_server, f"SELECT * {{ SERVICE <{endpoint}> {{ ?s ?p ?o }} }}")
    assert_requests_error(response, 403)


def test_service_words_in_strings_comments_and_names_are_not_calls(
    live_server: LiveServer,
) -> None:
    query = f"""PREFIX sd: <http://www.w3.org/ns/sparql-service-description#>
PREFIX service: <{SYN}service/>
SELECT ?s WHERE {{
  # SERVICE <http://127.0.0.1:1/> {{ }}
  OPTIONAL {{ ?s a sd:Service ; service:p ?service }}
  FILTER(!BOUND(?s) || CONTAINS(STR(?s), "SERVICE <http://127.0.0.1:1/> {{ }}"))
  FILTER(1 < 2 && 3 > 2)
  OPTIONAL {{ GRAPH <{SYN}service> {{ ?s <{SYN}service?x> <{SYN}service:y> }} }}
}}"""
    assert sparql_get(live_server, query).status_code == 200


def test_allow_listed_service_is_called(
    bundled_store: Path, start_server: StartServer, listener: Listener
) -> None:
    allowed = listener.url + "sparql"
    server = start_server(bundled_store, service_allowlist=allowed)
    query = f"SELECT * {{ SERVICE SILENT <{allowed}> {{ ?s ?p ?o }} }}"
    assert sparql_get(server, query).status_code == 200
    prefixed = f"PREFIX r: <{listener.url}> SELECT * {{ SERVICE SILENT r:sparql {{ ?s ?p ?o }} }}"
    assert sparql_get(server, prefixed).status_code == 200
    calls = listener.connections_after_settling()
    assert len(calls) == 2
    assert all(call.startswith(b"POST /sparql ") for call in calls)
    # anything else is still refused
    other = f"SELECT * {{ SERVICE SILENT <{listener.url}other> {{ ?s ?p ?o }} }}"
    assert_requests_error(sparql_get(server, other), 403)
    assert len(listener.connections_after_settling()) == 2


# --- FROM and graph parameters resolve against the store only --------------------------


@pytest.fixture
def rdf_file(tmp_path: Path) -> Path:
    """A local file that *would* give a triple if anything read it."""
    path = tmp_path / "outside.ttl"
    path.write_text(f"<{SYN}outside> <{SYN}p> <{SYN}o> .\n", encoding="utf-8")
    return path


def test_from_a_file_reads_nothing(live_server: LiveServer, rdf_file: Path) -> None:
    for source in ("file:///etc/passwd", rdf_file.as_uri()):
        for query in (
            f"SELECT * FROM <{source}> WHERE {{ ?s ?p ?o }}",
            f"SELECT * FROM NAMED <{source}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        ):
            assert rows(sparql_get(live_server, query)) == [], query


def test_graph_parameters_naming_files_read_nothing(
    live_server: LiveServer, rdf_file: Path
) -> None:
    for source in ("file:///etc/passwd", rdf_file.as_uri()):
        for parameter, query in (
            ("default-graph-uri", "SELECT * WHERE { ?s ?p ?o }"),
            ("named-graph-uri", "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }"),
        ):
            response = requests.get(
                live_server.sparql, params={"query": query, parameter: source}, timeout=30
            )
            assert rows(response) == [], (parameter, source)


def test_from_a_url_fetches_nothing(live_server: LiveServer, listener: Listener) -> None:
    query = f"SELECT * FROM <{listener.url}data.ttl> WHERE {{ ?s ?p ?o }}"
    assert rows(sparql_get(live_server, query)) == []
    response = requests.get(
        live_server.sparql,
        params={"query": "SELECT * { ?s ?p ?o }", "default-graph-uri": listener.url},
        timeout=30,
    )
    assert rows(response) == []
    assert listener.connections_after_settling() == []


def test_graph_parameter_that_is_not_an_iri_is_400(live_server: LiveServer) -> None:
    response = requests.get(
        live_server.sparql,
        params={"query": "ASK {}", "default-graph-uri": "not an IRI"},
        timeout=30,
    )
    assert_requests_error(response, 400)


# --- time limit: the query is stopped, others are not delayed ---------------------------


def test_slow_query_is_stopped_and_does_not_block_others(live_server: LiveServer) -> None:
    outcome: dict[str, Any] = {}

    def slow() -> None:
        started = time.monotonic()
        outcome["response"] = sparql_get(live_server, CARTESIAN)
        outcome["seconds"] = time.monotonic() - started

    runner = threading.Thread(target=slow)
    runner.start()
    time.sleep(0.5)  # let it start
    quick = sparql_get(live_server, "ASK {}")
    answered_while_running = runner.is_alive()
    runner.join(timeout=TIMEOUT + 30)
    assert quick.status_code == 200
    assert quick.json()["boolean"] is True
    assert answered_while_running  # ASK {} did not wait for the slow query
    error = assert_requests_error(outcome["response"], 504)
    assert "stopped" in error["detail"]
    assert outcome["seconds"] < TIMEOUT + 5
    # and the server goes on answering
    assert sparql_get(live_server, "ASK {}").status_code == 200
    assert rows(sparql_get(live_server, COUNT))


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(c) for c in (task / "children").read_text().split())
    return found


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_busy_pool_answers_503_and_a_stopped_worker_is_replaced(
    bundled_store: Path, start_server: StartServer
) -> None:
    server = start_server(bundled_store, query_workers="1", queue_timeout="0.5", query_timeout="4")
    assert sparql_get(server, "ASK {}").status_code == 200  # the one worker is ready
    linux = Path(f"/proc/{server.process.pid}/task").is_dir()
    workers_before = _children(server.process.pid) if linux else set()

    outcome: dict[str, requests.Response] = {}
    runner = threading.Thread(target=lambda: outcome.update(slow=sparql_get(server, CARTESIAN)))
    runner.start()
    busy = None
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline and busy is None:
        time.sleep(0.2)
        response = sparql_get(server, "ASK {}")
        if response.status_code == 503:
            busy = response
    runner.join(timeout=60)

    assert busy is not None, "no 503 while the only worker ran a slow query"
    assert_requests_error(busy, 503)
    assert int(busy.headers["Retry-After"]) >= 1
    assert_requests_error(outcome["slow"], 504)

    # a fresh worker takes the stopped one's place
    deadline = time.monotonic() + 30
    while sparql_get(server, "ASK {}").status_code != 200:
        assert time.monotonic() < deadline, "the pool did not recover"
        time.sleep(0.2)
    if linux:  # the worker that ran the slow query was killed (and reaped), another started
        workers_after = _children(server.process.pid)
        assert any(not _running(pid) for pid in workers_before)
        assert workers_before - workers_after  # no zombie left
        assert workers_after - workers_before


# --- size limits -----------------------------------------------------------------------


def test_result_over_the_cap_is_422_never_truncated(
    bundled_store: Path, start_server: StartServer
) -> None:
    server = start_server(bundled_store, max_result_bytes="2000")
    for big in ("SELECT * WHERE { ?s ?p ?o }", "CONSTRUCT WHERE { ?s ?p ?o }"):
        response = sparql_get(server, big)
        error = assert_requests_error(response, 422)  # the whole body is the error
        assert "never truncated" in error["detail"]
    small = sparql_get(server, f"SELECT ?s WHERE {{ ?s a <{EMMIE}Study> }} LIMIT 3")
    assert len(rows(small)) == 3
    assert len(small.content) <= 2000


def test_body_and_query_limits(bundled_store: Path, start_server: StartServer) -> None:
    server = start_server(bundled_store, max_body_bytes="8192", max_query_length="1000")
    long_query = 'ASK { FILTER(STRLEN("' + "x" * 1200 + '") > 0) }'
    # a query over max_query_length: 414 by GET, 413 by POST
    too_long = [
        (414, sparql_get(server, long_query)),
        (413, sparql_post(server, long_query)),
        (413, requests.post(server.sparql, data={"query": long_query}, timeout=30)),
    ]
    for status, response in too_long:
        assert "longer than 1000" in assert_requests_error(response, status)["detail"]
    # a body over max_body_bytes (whatever is in it)
    over = [
        sparql_post(server, "ASK {} #" + "x" * 9000),
        requests.post(server.sparql, data={"query": "ASK {}", "pad": "x" * 9000}, timeout=30),
    ]
    for response in over:
        assert "longer than" not in assert_requests_error(response, 413)["detail"]
    # just under both limits
    assert sparql_post(server, "ASK {} #" + "x" * 900).status_code == 200


def test_ten_megabyte_body_is_413(live_server: LiveServer) -> None:
    body = b"ASK {} #" + b"x" * (10 * 1024 * 1024)
    started = time.monotonic()
    response = requests.post(live_server.sparql, data=body, headers=DIRECT, timeout=60)
    assert_requests_error(response, 413)
    assert time.monotonic() - started < 30
    assert sparql_get(live_server, "ASK {}").status_code == 200


# --- one JSON shape for every error ----------------------------------------------------


def test_every_error_has_the_one_json_shape(live_server: LiveServer) -> None:
    url = live_server.sparql
    cases: list[tuple[int, requests.Response]] = [
        (400, sparql_get(live_server, "SELEKT * {}")),
        (400, requests.get(url, params=[("query", "ASK {}"), ("query", "ASK {}")], timeout=30)),
        (403, requests.post(url, data={"update": "CLEAR ALL"}, timeout=30)),
        (403, sparql_get(live_server, "SELECT * { SERVICE <http://x/> { ?s ?p ?o } }")),
        (404, requests.get(live_server.url + "/no-such-page", timeout=30)),
        (405, requests.delete(url, timeout=30)),
        (406, sparql_get(live_server, "ASK {}", headers={"Accept": "text/html"})),
        (414, sparql_get(live_server, "ASK {} #" + "x" * 70_000)),
        (
            415,
            requests.post(url, data=b"ASK {}", headers={"Content-Type": "text/plain"}, timeout=30),
        ),
    ]
    for status, response in cases:
        assert_requests_error(response, status)
    # a request id the client sends comes back in the error
    mine = sparql_get(live_server, "ASK {", headers={"X-Request-ID": "my-request-42"})
    assert assert_requests_error(mine, 400)["request_id"] == "my-request-42"
    # and a malformed query's message says where
    assert "1:" in assert_requests_error(cases[0][1], 400)["detail"]


def test_no_internals_in_errors(live_server: LiveServer, bundled_store: Path) -> None:
    response = sparql_get(live_server, "SELECT * WHERE { ?s ?p ?o } GROUP BY")
    detail = assert_requests_error(response, 400)["detail"]
    for leak in ("Traceback", 'File "', str(bundled_store), "site-packages"):
        assert leak not in detail
