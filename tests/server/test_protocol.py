"""The W3C SPARQL 1.1 Protocol tests, ported to pytest against a running server.

Source: w3c/rdf-tests, sparql/sparql11/protocol/manifest.ttl (every entry of the manifest
is here, named after it, with its manifest IRI). The W3C data (data1.nt .. data3.nt, one
foaf:Document each, loaded into one named graph per file) is rebuilt as synthetic RDF
files; kasei.us/.../dataN.rdf becomes the graph and resource of our file ``w3c-dataN``.

Where a W3C test only shows that a request is accepted, a second request checks that it
was *honoured* (e.g. the protocol's dataset really replaced the store's default graph).
The update_* tests get the endpoint's read-only refusal (403), and their follow-up query
shows that nothing was written.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from typing import Any

import pyoxigraph as ox
import pytest
import requests
from rdflib import Graph, Literal, URIRef
from rdflib.query import Result

from tests.server.conftest import (
    FOAF_DOCUMENT,
    SYNTHETIC,
    Server,
    assert_requests_error,
    w3c_document,
    w3c_graph,
)
from whatworks.core.engine import from_ox

SPARQL_RESULTS = "{http://www.w3.org/2005/sparql-results#}"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DIRECT = {"Content-Type": "application/sparql-query"}
UPDATE = {"Content-Type": "application/sparql-update"}

D1, D2, D3 = (w3c_document(n) for n in (1, 2, 3))
G0, G1, G2, G3 = (w3c_graph(n) for n in (0, 1, 2, 3))

ASK_D1_D2 = f"ASK {{ <{D1}> a ?type . <{D2}> a ?type . }}"
ASK_NAMED_D1_D2 = f"ASK {{ GRAPH ?g1 {{ <{D1}> a ?type }} GRAPH ?g2 {{ <{D2}> a ?type }} }}"


def get(server: Server, params: list[tuple[str, str]], **kwargs: Any) -> requests.Response:
    return requests.get(server.sparql, params=params, timeout=30, **kwargs)


def post(
    server: Server,
    body: str | bytes,
    headers: dict[str, str],
    params: list[tuple[str, str]] | None = None,
) -> requests.Response:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return requests.post(server.sparql, params=params, data=data, headers=headers, timeout=30)


def media_type(response: requests.Response) -> str:
    return response.headers["Content-Type"].split(";")[0].strip()


def boolean_of(response: requests.Response) -> bool:
    """The answer of an ASK, in whichever boolean format the server chose."""
    assert response.status_code == 200, response.text
    kind = media_type(response)
    if kind == "application/sparql-results+json":
        answer = json.loads(response.content)["boolean"]
        assert isinstance(answer, bool)
        return answer
    assert kind == "application/sparql-results+xml", kind
    element = ET.fromstring(response.content).find(f"{SPARQL_RESULTS}boolean")
    assert element is not None and element.text in ("true", "false")
    return element.text == "true"


def rows_of(response: requests.Response) -> list[dict[str, Any]]:
    """The solutions of a SELECT, parsed by rdflib from whichever tabular format came."""
    assert response.status_code == 200, response.text
    result = Result.parse(io.BytesIO(response.content), content_type=media_type(response))
    return [{str(k): v for k, v in row.asdict().items()} for row in result]


GRAPH_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/trig": ox.RdfFormat.TRIG,
    "application/n-quads": ox.RdfFormat.N_QUADS,
}


def graph_of(response: requests.Response) -> Graph:
    """The graph of a CONSTRUCT or DESCRIBE, from whichever RDF format came (parsed by
    Oxigraph: rdflib 7.6 warns of its own deprecations on JSON-LD and quads)."""
    assert response.status_code == 200, response.text
    graph = Graph()
    for quad in ox.parse(response.content, GRAPH_FORMATS[media_type(response)]):
        graph.add((from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object)))
    return graph


# --- queries ---------------------------------------------------------------------------


def test_query_post_form(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#query_post_form
    response = post(w3c_server, "query=ASK%20%7B%7D", FORM, [("default-graph-uri", G0)])
    assert boolean_of(response) is True


def test_query_dataset_default_graphs_get(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#query_dataset_default_graphs_get
    both = [("query", ASK_D1_D2), ("default-graph-uri", G1), ("default-graph-uri", G2)]
    assert boolean_of(get(w3c_server, both)) is True
    # ... and the default graph is really the two graphs named, not the whole store
    only_one = [("query", ASK_D1_D2), ("default-graph-uri", G1)]
    assert boolean_of(get(w3c_server, only_one)) is False


def test_query_dataset_default_graphs_post(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#query_dataset_default_graphs_post
    graphs = [("default-graph-uri", G1), ("default-graph-uri", G2)]
    assert boolean_of(post(w3c_server, ASK_D1_D2, DIRECT, graphs)) is True
    assert boolean_of(post(w3c_server, ASK_D1_D2, DIRECT, graphs[1:])) is False


def test_query_dataset_named_graphs_post(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#query_dataset_named_graphs_post
    graphs = [("named-graph-uri", G1), ("named-graph-uri", G2)]
    assert boolean_of(post(w3c_server, ASK_NAMED_D1_D2, DIRECT, graphs)) is True
    assert boolean_of(post(w3c_server, ASK_NAMED_D1_D2, DIRECT, graphs[:1])) is False


def test_query_dataset_named_graphs_get(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#query_dataset_named_graphs_get
    graphs = [("named-graph-uri", G1), ("named-graph-uri", G2)]
    assert boolean_of(get(w3c_server, [("query", ASK_NAMED_D1_D2), *graphs])) is True
    assert boolean_of(get(w3c_server, [("query", ASK_NAMED_D1_D2), graphs[0]])) is False


def test_query_dataset_full(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#query_dataset_full
    query = f"""ASK {{
  <{D3}> a ?type
  GRAPH ?g1 {{ <{D1}> a ?type }}
  GRAPH ?g2 {{ <{D2}> a ?type }}
}}"""
    dataset = [("default-graph-uri", G3), ("named-graph-uri", G1), ("named-graph-uri", G2)]
    assert boolean_of(post(w3c_server, query, DIRECT, dataset)) is True
    # data3 is only in the default graph, not among the named graphs
    in_named = f"ASK {{ GRAPH ?g {{ <{D3}> a ?type }} }}"
    assert boolean_of(post(w3c_server, in_named, DIRECT, dataset)) is False


def test_query_multiple_dataset(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#query_multiple_dataset
    query = f"ASK FROM <{G3}> {{ GRAPH ?g1 {{ <{D1}> a ?type }} GRAPH ?g2 {{ <{D2}> a ?type }} }}"
    graphs = [("named-graph-uri", G1), ("named-graph-uri", G2)]
    assert boolean_of(post(w3c_server, query, DIRECT, graphs)) is True
    # The protocol's dataset replaces the query's FROM entirely ...
    from_d3 = f"ASK FROM <{G3}> {{ <{D3}> a ?type }}"
    assert boolean_of(post(w3c_server, from_d3, DIRECT, [("default-graph-uri", G1)])) is False
    # ... and without one, the query's FROM is the dataset (not the union of all graphs)
    assert boolean_of(post(w3c_server, from_d3, DIRECT)) is True
    from_d1 = f"ASK FROM <{G1}> {{ <{D3}> a ?type }}"
    assert boolean_of(post(w3c_server, from_d1, DIRECT)) is False


def test_query_get(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#query_get
    response = get(w3c_server, [("query", "ASK {}"), ("default-graph-uri", G0)])
    assert boolean_of(response) is True


SELECT_TYPES = (
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
)


@pytest.mark.parametrize("accept", [None, *SELECT_TYPES])
def test_query_content_type_select(w3c_server: Server, accept: str | None) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#query_content_type_select
    # (and each tabular format asked for by name)
    headers = {**DIRECT, **({"Accept": accept} if accept else {})}
    response = post(w3c_server, "SELECT (1 AS ?value) {}", headers, [("default-graph-uri", G0)])
    assert media_type(response) in SELECT_TYPES
    if accept:
        assert media_type(response) == accept
    [row] = rows_of(response)
    assert row["value"].toPython() in (1, "1")  # CSV carries no datatypes


@pytest.mark.parametrize("accept", [None, *SELECT_TYPES[:2]])
def test_query_content_type_ask(w3c_server: Server, accept: str | None) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#query_content_type_ask
    headers = {**DIRECT, **({"Accept": accept} if accept else {})}
    response = post(w3c_server, "ASK {}", headers, [("default-graph-uri", G0)])
    assert media_type(response) in SELECT_TYPES[:2]
    if accept:
        assert media_type(response) == accept
    assert boolean_of(response) is True


@pytest.mark.parametrize("accept", [None, *GRAPH_FORMATS])
def test_query_content_type_describe(w3c_server: Server, accept: str | None) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#query_content_type_describe
    headers = {**DIRECT, **({"Accept": accept} if accept else {})}
    response = post(
        w3c_server, "DESCRIBE <http://example.org/>", headers, [("default-graph-uri", G0)]
    )
    assert media_type(response) in GRAPH_FORMATS
    if accept:
        assert media_type(response) == accept
    assert len(graph_of(response)) == 0
    # and a DESCRIBE of something that is there
    response = post(w3c_server, f"DESCRIBE <{D1}>", headers)
    assert (URIRef(D1), None, URIRef(FOAF_DOCUMENT)) in graph_of(response)


@pytest.mark.parametrize("accept", [None, *GRAPH_FORMATS])
def test_query_content_type_construct(w3c_server: Server, accept: str | None) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#query_content_type_construct
    headers = {**DIRECT, **({"Accept": accept} if accept else {})}
    response = post(
        w3c_server, "CONSTRUCT { <s> <p> 1 } WHERE {}", headers, [("default-graph-uri", G0)]
    )
    assert media_type(response) in GRAPH_FORMATS
    if accept:
        assert media_type(response) == accept
    # relative IRIs are resolved against the endpoint (the protocol's service-defined base)
    base = w3c_server.url + "/"
    assert set(graph_of(response)) == {(URIRef(base + "s"), URIRef(base + "p"), Literal(1))}


def test_query_post_direct(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#query_post_direct
    assert boolean_of(post(w3c_server, "ASK {}", DIRECT)) is True


# --- bad queries -----------------------------------------------------------------------


def test_bad_query_method(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#bad_query_method
    response = requests.put(
        w3c_server.sparql,
        params=[("query", "ASK {}"), ("default-graph-uri", G0)],
        headers=FORM,
        timeout=30,
    )
    assert_requests_error(response, 405)
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["Allow"].split(",")}


def test_bad_multiple_queries(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#bad_multiple_queries
    response = get(w3c_server, [("query", "ASK {}"), ("query", "SELECT * {}")])
    assert_requests_error(response, 400)


def test_bad_query_wrong_media_type(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#bad_query_wrong_media_type
    response = post(w3c_server, "ASK {}", {"Content-Type": "text/plain"})
    assert_requests_error(response, 415)


def test_bad_query_missing_form_type(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#bad_query_missing_form_type
    response = post(w3c_server, "query=ASK%20%7B%7D", {})
    assert "Content-Type" not in response.request.headers
    assert_requests_error(response, 415)


def test_bad_query_missing_direct_type(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#bad_query_missing_direct_type
    response = post(w3c_server, "ASK {}", {})
    assert "Content-Type" not in response.request.headers
    assert_requests_error(response, 415)


def test_bad_query_non_utf8(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#bad_query_non_utf8
    response = post(
        w3c_server,
        "ASK {}".encode("utf-16"),
        {"Content-Type": "application/sparql-query; charset=UTF-16"},
    )
    assert_requests_error(response, 415)


def test_bad_query_syntax(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#bad_query_syntax
    error = assert_requests_error(get(w3c_server, [("query", "ASK {")]), 400)
    assert "malformed query" in error["detail"]


def test_missing_query(w3c_server: Server) -> None:
    # Not a W3C test: a POST without a query is an error (a GET without one is the
    # service description; see test_raw_http.py).
    assert_requests_error(post(w3c_server, "default-graph-uri=x%3Ay", FORM), 400)
    assert_requests_error(post(w3c_server, b"", FORM), 400)


# --- updates: the endpoint is read-only ------------------------------------------------
# Each W3C update test POSTs an update and expects 2xx, then asks whether it was applied.
# Here the update is refused with 403 and the follow-up ASK finds that nothing changed.

TARGET = SYNTHETIC + "protocol-update-dataset-test"
DC_RESOURCE = "http://purl.org/dc/terms/BibliographicResource"


def assert_refused(response: requests.Response) -> None:
    error = assert_requests_error(response, 403)
    assert "read-only" in error["detail"]


def assert_not_applied(server: Server, ask: str) -> None:
    assert boolean_of(post(server, ask, DIRECT)) is False


def test_update_dataset_default_graph(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#update_dataset_default_graph
    update = f"""PREFIX dc: <http://purl.org/dc/terms/>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
CLEAR ALL ;
INSERT DATA {{ GRAPH <{G1}> {{ <{D1}> a foaf:Document }} }} ;
INSERT {{ GRAPH <{TARGET}> {{ ?s a dc:BibliographicResource }} }}
WHERE {{ ?s a foaf:Document }}"""
    assert_refused(post(w3c_server, update, UPDATE, [("using-graph-uri", G1)]))
    assert_not_applied(
        w3c_server,
        f"ASK {{ GRAPH <{TARGET}> {{ <{D1}> a <{DC_RESOURCE}> }} }}",
    )
    # CLEAR ALL did not happen either
    assert boolean_of(post(w3c_server, ASK_D1_D2, DIRECT)) is True


INSERT_ALL_THREE = f"""PREFIX dc: <http://purl.org/dc/terms/>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
DROP ALL ;
INSERT DATA {{
    GRAPH <{G1}> {{ <{D1}> a foaf:Document }}
    GRAPH <{G2}> {{ <{D2}> a foaf:Document }}
    GRAPH <{G3}> {{ <{D3}> a foaf:Document }}
}} ;
"""


def ask_target(target: str) -> str:
    resource = "<http://purl.org/dc/terms/BibliographicResource>"
    return f"""ASK {{
    GRAPH <{target}> {{ <{D1}> a {resource} . <{D2}> a {resource} . }}
    FILTER NOT EXISTS {{ GRAPH <{target}> {{ <{D3}> a {resource} . }} }}
}}"""


def test_update_dataset_default_graphs(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#update_dataset_default_graphs
    target = SYNTHETIC + "protocol-update-dataset-graphs-test"
    update = INSERT_ALL_THREE + (
        f"INSERT {{ GRAPH <{target}> {{ ?s a dc:BibliographicResource }} }}"
        " WHERE { ?s a foaf:Document }"
    )
    graphs = [("using-graph-uri", G1), ("using-graph-uri", G2)]
    assert_refused(post(w3c_server, update, UPDATE, graphs))
    assert_not_applied(w3c_server, ask_target(target))


def test_update_dataset_named_graphs(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#update_dataset_named_graphs
    target = SYNTHETIC + "protocol-update-dataset-named-graphs-test"
    update = INSERT_ALL_THREE + (
        f"INSERT {{ GRAPH <{target}> {{ ?s a dc:BibliographicResource }} }}"
        " WHERE { GRAPH ?g { ?s a foaf:Document } }"
    )
    graphs = [("using-named-graph-uri", G1), ("using-named-graph-uri", G2)]
    assert_refused(post(w3c_server, update, UPDATE, graphs))
    assert_not_applied(w3c_server, ask_target(target))


def test_update_dataset_full(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#update_dataset_full
    target = SYNTHETIC + "protocol-update-dataset-full-test"
    update = (
        INSERT_ALL_THREE
        + f"""INSERT {{ GRAPH <{target}> {{ ?s <{SYNTHETIC}in> ?in }} }}
WHERE {{
    {{ GRAPH ?g {{ ?s a foaf:Document }} BIND(?g AS ?in) }}
    UNION
    {{ ?s a foaf:Document . BIND("default" AS ?in) }}
}}"""
    )
    graphs = [("using-graph-uri", G1), ("using-named-graph-uri", G2)]
    assert_refused(post(w3c_server, update, UPDATE, graphs))
    assert_not_applied(w3c_server, f"ASK {{ GRAPH <{target}> {{ ?s ?p ?o }} }}")


def test_update_post_form(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#update_post_form
    assert_refused(post(w3c_server, "update=CLEAR+ALL", FORM))
    assert boolean_of(post(w3c_server, ASK_D1_D2, DIRECT)) is True


def test_update_post_direct(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#update_post_direct
    assert_refused(post(w3c_server, "CLEAR ALL", UPDATE))
    assert boolean_of(post(w3c_server, ASK_D1_D2, DIRECT)) is True


def test_update_base_uri(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#update_base_uri
    target = SYNTHETIC + "protocol-base-test"
    update = (
        f"CLEAR SILENT GRAPH <{target}> ;\n"
        f"INSERT DATA {{ GRAPH <{target}> {{ <{SYNTHETIC}s> <{SYNTHETIC}p> <test> }} }}"
    )
    assert_refused(post(w3c_server, update, UPDATE))
    assert_not_applied(
        w3c_server,
        f"""ASK {{ GRAPH <{target}> {{
            <{SYNTHETIC}s> <{SYNTHETIC}p> ?o FILTER (isIRI(?o) && STR(?o) != "test") }} }}""",
    )


def test_bad_update_get(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#bad_update_get
    assert_refused(get(w3c_server, [("update", "CLEAR ALL")]))


def test_bad_multiple_updates(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#bad_multiple_updates
    assert_refused(post(w3c_server, "update=CLEAR%20NAMED&update=CLEAR%20DEFAULT", FORM))


def test_bad_update_wrong_media_type(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#bad_update_wrong_media_type
    # (neither a query nor an update: 415)
    assert_requests_error(post(w3c_server, "CLEAR NAMED", {"Content-Type": "text/plain"}), 415)


def test_bad_update_missing_form_type(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#bad_update_missing_form_type
    assert_requests_error(post(w3c_server, "update=CLEAR%20NAMED", {}), 415)


def test_bad_update_non_utf8(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#bad_update_non_utf8
    headers = {"Content-Type": "application/sparql-update; charset=UTF-16"}
    assert_refused(post(w3c_server, "CLEAR NAMED".encode("utf-16"), headers))


def test_bad_update_syntax(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#bad_update_syntax
    assert_refused(post(w3c_server, "update=CLEAR%20XYZ", FORM))


def test_bad_update_dataset_conflict(w3c_server: Server) -> None:
    # http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/manifest#bad_update_dataset_conflict
    update = """PREFIX foaf:  <http://xmlns.com/foaf/0.1/>
WITH <http://example/addresses>
DELETE { ?person foaf:givenName 'Bill' }
INSERT { ?person foaf:givenName 'William' }
WHERE { ?person foaf:givenName 'Bill' }"""
    params = [("using-named-graph-uri", "http://example/people")]
    assert_refused(post(w3c_server, update, UPDATE, params))


def test_every_manifest_entry_is_ported() -> None:
    """The manifest's 34 entries, each a test function here."""
    entries = (
        "query_post_form",
        "query_dataset_default_graphs_get",
        "query_dataset_default_graphs_post",
        "query_dataset_named_graphs_post",
        "query_dataset_named_graphs_get",
        "query_dataset_full",
        "query_multiple_dataset",
        "query_get",
        "query_content_type_select",
        "query_content_type_ask",
        "query_content_type_describe",
        "query_content_type_construct",
        "update_dataset_default_graph",
        "update_dataset_default_graphs",
        "update_dataset_named_graphs",
        "update_dataset_full",
        "update_post_form",
        "update_post_direct",
        "update_base_uri",
        "query_post_direct",
        "bad_query_method",
        "bad_multiple_queries",
        "bad_query_wrong_media_type",
        "bad_query_missing_form_type",
        "bad_query_missing_direct_type",
        "bad_query_non_utf8",
        "bad_query_syntax",
        "bad_update_get",
        "bad_multiple_updates",
        "bad_update_wrong_media_type",
        "bad_update_missing_form_type",
        "bad_update_non_utf8",
        "bad_update_syntax",
        "bad_update_dataset_conflict",
    )
    assert len(entries) == 34
    missing = [e for e in entries if f"test_{e}" not in globals()]
    assert not missing
