"""Real clients against the running server over the bundled evidence: SPARQLWrapper in
every return format it supports, and rdflib's SPARQLStore; by GET and by POST.

Warnings are errors in this suite, so a client that complains about what the server
answered (SPARQLWrapper warns when the content type is not the one it asked for) fails.
"""

from __future__ import annotations

import csv
import io
from typing import Any
from xml.dom.minidom import Document

import pyoxigraph as ox
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import (
    CSV,
    GET,
    JSON,
    JSONLD,
    N3,
    POST,
    POSTDIRECTLY,
    RDFXML,
    TSV,
    TURTLE,
    URLENCODED,
    XML,
    SPARQLWrapper,
)
from SPARQLWrapper.Wrapper import QueryResult

from tests.conftest import LiveServer

STUDY = URIRef("https://w3id.org/whatworks/emmie#Study")
STUDIES = 35  # emmie:Study resources in the bundled evidence
PREFIX = "PREFIX emmie: <https://w3id.org/whatworks/emmie#>\n"
SELECT = PREFIX + "SELECT ?study WHERE { ?study a emmie:Study } ORDER BY ?study"
ASK = PREFIX + "ASK { ?study a emmie:Study }"
ASK_NOTHING = PREFIX + "ASK { ?study a emmie:NoSuchClass }"
CONSTRUCT = PREFIX + "CONSTRUCT { ?study a emmie:Study } WHERE { ?study a emmie:Study }"
DESCRIBE = PREFIX + "DESCRIBE ?study WHERE { ?study a emmie:Study }"

#: How a SPARQLWrapper sends its query: GET, POST form-encoded, POST as the body.
HOW = {
    "get": (GET, URLENCODED),
    "post-form": (POST, URLENCODED),
    "post-direct": (POST, POSTDIRECTLY),
}


def wrapper(server: LiveServer, query: str, fmt: str, how: str) -> SPARQLWrapper:
    method, request_method = HOW[how]
    client = SPARQLWrapper(server.sparql, returnFormat=fmt)
    client.setMethod(method)
    client.setRequestMethod(request_method)
    client.setQuery(query)
    return client


def study_iris(values: list[str]) -> list[str]:
    assert len(values) == STUDIES
    assert len(set(values)) == STUDIES
    assert all(v.startswith("https://w3id.org/whatworks/") for v in values)
    return values


# --- SELECT ----------------------------------------------------------------------------


@pytest.mark.parametrize("how", HOW)
def test_select_json(live_server: LiveServer, how: str) -> None:
    result: Any = wrapper(live_server, SELECT, JSON, how).queryAndConvert()
    assert result["head"]["vars"] == ["study"]
    bindings = result["results"]["bindings"]
    assert all(b["study"]["type"] == "uri" for b in bindings)
    study_iris([b["study"]["value"] for b in bindings])


@pytest.mark.parametrize("how", HOW)
def test_select_xml(live_server: LiveServer, how: str) -> None:
    document = wrapper(live_server, SELECT, XML, how).queryAndConvert()
    assert isinstance(document, Document)
    uris = [node.firstChild.data for node in document.getElementsByTagName("uri")]
    study_iris(uris)


@pytest.mark.parametrize("how", HOW)
def test_select_csv(live_server: LiveServer, how: str) -> None:
    body = wrapper(live_server, SELECT, CSV, how).queryAndConvert()
    assert isinstance(body, bytes)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    assert rows[0] == ["study"]
    study_iris([row[0] for row in rows[1:]])


@pytest.mark.parametrize("how", HOW)
def test_select_tsv(live_server: LiveServer, how: str) -> None:
    body = wrapper(live_server, SELECT, TSV, how).queryAndConvert()
    assert isinstance(body, bytes)
    lines = body.decode("utf-8").splitlines()
    assert lines[0] == "?study"
    assert all(line.startswith("<") and line.endswith(">") for line in lines[1:])
    study_iris([line[1:-1] for line in lines[1:]])


def test_select_csv_and_json_agree(live_server: LiveServer) -> None:
    as_json: Any = wrapper(live_server, SELECT, JSON, "get").queryAndConvert()
    as_csv = wrapper(live_server, SELECT, CSV, "get").queryAndConvert()
    assert isinstance(as_csv, bytes)
    from_csv = [row[0] for row in csv.reader(io.StringIO(as_csv.decode()))][1:]
    assert [b["study"]["value"] for b in as_json["results"]["bindings"]] == from_csv


# --- ASK -------------------------------------------------------------------------------


@pytest.mark.parametrize("how", HOW)
def test_ask_json(live_server: LiveServer, how: str) -> None:
    yes: Any = wrapper(live_server, ASK, JSON, how).queryAndConvert()
    no: Any = wrapper(live_server, ASK_NOTHING, JSON, how).queryAndConvert()
    assert (yes["boolean"], no["boolean"]) == (True, False)


@pytest.mark.parametrize("how", HOW)
def test_ask_xml(live_server: LiveServer, how: str) -> None:
    for query, expected in ((ASK, "true"), (ASK_NOTHING, "false")):
        document = wrapper(live_server, query, XML, how).queryAndConvert()
        assert isinstance(document, Document)
        [boolean] = document.getElementsByTagName("boolean")
        assert boolean.firstChild.data == expected


# --- CONSTRUCT and DESCRIBE ------------------------------------------------------------


def parsed(body: bytes, fmt: ox.RdfFormat) -> Graph:
    from whatworks.core.engine import from_ox

    graph = Graph()
    for t in ox.parse(body, fmt):
        graph.add((from_ox(t.subject), from_ox(t.predicate), from_ox(t.object)))
    return graph


def graph_from(result: QueryResult, fmt: str) -> Graph:
    """What SPARQLWrapper converts an answer in ``fmt`` to, as an rdflib graph."""
    content_type = result.info()["content-type"].split(";")[0]
    converted = result.convert()
    if fmt in (TURTLE, N3):  # SPARQLWrapper returns the bytes of Turtle and N-Triples
        assert isinstance(converted, bytes)
        kind = {"text/turtle": ox.RdfFormat.TURTLE, "application/n-triples": ox.RdfFormat.N_TRIPLES}
        return parsed(converted, kind[content_type])
    assert isinstance(converted, Graph), type(converted)
    graph = Graph()
    for triple in converted.triples((None, None, None)):
        graph.add(triple)
    return graph


#: SPARQLWrapper's graph formats, the media type each should get, and any Accept override
#: (N-Triples has no format of its own: it is asked for as N3 by content negotiation only,
#: since SPARQLWrapper's "format=n3" parameter would get Turtle, which is also N3).
GRAPH_FORMATS = {
    "turtle": (TURTLE, "text/turtle", None),
    "ntriples": (N3, "application/n-triples", "application/n-triples"),
    "jsonld": (JSONLD, "application/ld+json", None),
    "rdfxml": (RDFXML, "application/rdf+xml", None),
    "xml": (XML, "application/rdf+xml", None),  # SPARQLWrapper's default format
}


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("name", GRAPH_FORMATS)
@pytest.mark.filterwarnings(
    # SPARQLWrapper parses JSON-LD into an rdflib ConjunctiveGraph, deprecated in rdflib 7
    "ignore:ConjunctiveGraph is deprecated:DeprecationWarning"
)
def test_construct(live_server: LiveServer, name: str, how: str) -> None:
    fmt, media, accept = GRAPH_FORMATS[name]
    client = wrapper(live_server, CONSTRUCT, fmt, how)
    if accept:
        client.setOnlyConneg(True)
        client.addCustomHttpHeader("Accept", accept)
    result = client.query()
    assert result.info()["content-type"].split(";")[0] == media
    graph = graph_from(result, fmt)
    assert len(graph) == STUDIES
    assert set(graph.predicates()) == {RDF.type}
    assert set(graph.objects()) == {STUDY}


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("name", GRAPH_FORMATS)
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
def test_describe(live_server: LiveServer, name: str, how: str) -> None:
    fmt, _, accept = GRAPH_FORMATS[name]
    client = wrapper(live_server, DESCRIBE, fmt, how)
    if accept:
        client.setOnlyConneg(True)
        client.addCustomHttpHeader("Accept", accept)
    graph = graph_from(client.query(), fmt)
    studies = set(graph.subjects(RDF.type, STUDY))
    assert len(studies) == STUDIES
    assert len(graph) > 5 * STUDIES  # each study is described, not just typed


# --- rdflib's SPARQLStore --------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
def test_sparqlstore_select(live_server: LiveServer, method: str) -> None:
    store = SPARQLStore(query_endpoint=live_server.sparql, method=method)
    try:
        graph = Graph(store)
        rows = list(graph.query(SELECT))
        study_iris([str(row[0]) for row in rows])  # type: ignore[index]
        assert graph.query(ASK).askAnswer is True
    finally:
        store.close()


@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
def test_sparqlstore_construct(live_server: LiveServer, method: str) -> None:
    store = SPARQLStore(query_endpoint=live_server.sparql, method=method)
    try:
        result = Graph(store).query(CONSTRUCT)
        assert result.graph is not None
        assert len(result.graph) == STUDIES
        assert set(result.graph.objects(None, RDF.type)) == {STUDY}
    finally:
        store.close()


def test_sparqlstore_triples(live_server: LiveServer) -> None:
    # Graph.triples on a SPARQLStore is a SELECT the store writes itself
    store = SPARQLStore(query_endpoint=live_server.sparql)
    try:
        studies = set(Graph(store).subjects(RDF.type, STUDY))
        assert len(studies) == STUDIES
    finally:
        store.close()
