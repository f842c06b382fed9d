"""Hand-written HTTP/1.1 requests over a plain socket: what a client library would tidy
away (repeated parameters, raw bytes that are not UTF-8, HEAD without a body, preflights,
conditional requests) reaches the server exactly as written here."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from urllib.parse import quote

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from tests.server.conftest import (
    FOAF_DOCUMENT,
    RawResponse,
    Server,
    StartServer,
    assert_raw_error,
    http_request,
    ingest,
    raw_http,
    w3c_document,
    write_w3c_data,
)

SD = "http://www.w3.org/ns/sparql-service-description#"
SELECT_DOCUMENTS = f"SELECT ?doc WHERE {{ ?doc a <{FOAF_DOCUMENT}> }} ORDER BY ?doc"


def send(
    server: Server,
    method: str,
    target: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> RawResponse:
    request = http_request(method, target, port=server.port, headers=headers, body=body)
    return raw_http(server.port, request)


def query_target(query: str, *extra: str) -> str:
    return "/sparql?query=" + quote(query, safe="") + "".join("&" + e for e in extra)


def media_type(response: RawResponse) -> str:
    return response.headers["content-type"].split(";")[0].strip()


# --- malformed requests ----------------------------------------------------------------


def test_two_query_parameters(w3c_server: Server) -> None:
    response = send(w3c_server, "GET", "/sparql?query=ASK%20%7B%7D&query=ASK%20%7B%7D")
    error = assert_raw_error(response, 400)
    assert "more than one query" in error["detail"]


def test_query_in_url_and_in_body(w3c_server: Server) -> None:
    response = send(
        w3c_server,
        "POST",
        "/sparql?query=ASK%20%7B%7D",
        {"Content-Type": "application/sparql-query"},
        b"ASK {}",
    )
    assert_raw_error(response, 400)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/json", "multipart/form-data; boundary=x"]
)
def test_wrong_content_type(w3c_server: Server, content_type: str) -> None:
    response = send(w3c_server, "POST", "/sparql", {"Content-Type": content_type}, b"ASK {}")
    assert_raw_error(response, 415)


def test_bad_utf8_percent_encoded_in_query_string(w3c_server: Server) -> None:
    response = send(w3c_server, "GET", "/sparql?query=ASK%20%7B%7D%FF")
    error = assert_raw_error(response, 400)
    assert "UTF-8" in error["detail"]


def test_bad_utf8_raw_bytes_in_query_string(w3c_server: Server) -> None:
    # the byte 0xFF itself on the request line, not percent-encoded
    request = http_request("GET", "/sparql?query=ASK%20%7B%7D\xff", port=w3c_server.port)
    assert b"\xff" in request
    response = raw_http(w3c_server.port, request)
    # waitress refuses a request line that is not ASCII before the application sees it,
    # so this 400 is waitress's plain-text one, not the endpoint's JSON error
    assert response.status == 400
    assert b"Bad URI" in response.body


def test_bad_utf8_in_sparql_query_body(w3c_server: Server) -> None:
    body = b'ASK { FILTER("caf\xe9" != "") }'  # Latin-1, not UTF-8
    response = send(
        w3c_server, "POST", "/sparql", {"Content-Type": "application/sparql-query"}, body
    )
    error = assert_raw_error(response, 400)
    assert "UTF-8" in error["detail"]


def test_bad_utf8_in_form_body(w3c_server: Server) -> None:
    response = send(
        w3c_server,
        "POST",
        "/sparql",
        {"Content-Type": "application/x-www-form-urlencoded"},
        b"query=ASK%20%7B%7D%C3%28",
    )
    assert_raw_error(response, 400)


def test_good_utf8_everywhere(w3c_server: Server) -> None:
    query = 'ASK { FILTER("café ☕" = "café ☕") }'
    by_get = send(w3c_server, "GET", query_target(query))
    by_body = send(
        w3c_server,
        "POST",
        "/sparql",
        {"Content-Type": "application/sparql-query; charset=UTF-8"},
        query.encode("utf-8"),
    )
    for response in (by_get, by_body):
        assert response.status == 200, response.body
        assert response.json()["boolean"] is True


def test_very_long_get_is_answered(w3c_server: Server) -> None:
    padding = "x" * 60_000  # under the default 64 KiB query limit
    response = send(w3c_server, "GET", query_target(f'ASK {{ FILTER(STRLEN("{padding}") > 0) }}'))
    assert response.status == 200, response.body[:300]
    assert response.json()["boolean"] is True


def test_get_query_over_the_limit_is_414(w3c_server: Server) -> None:
    padding = "x" * 70_000
    response = send(w3c_server, "GET", query_target(f'ASK {{ FILTER("{padding}" != "") }}'))
    error = assert_raw_error(response, 414)
    assert "longer than" in error["detail"]


# --- HEAD, OPTIONS and CORS -----------------------------------------------------------


def test_head_has_the_headers_and_no_body(w3c_server: Server) -> None:
    target = query_target("ASK {}")
    got = send(w3c_server, "GET", target)
    head = send(w3c_server, "HEAD", target)
    assert head.status == 200
    assert head.body == b""
    assert media_type(head) == media_type(got) == "application/sparql-results+json"
    assert head.headers["etag"] == got.headers["etag"]
    assert head.headers["content-length"] == str(len(got.body))


def test_head_of_the_service_description(w3c_server: Server) -> None:
    head = send(w3c_server, "HEAD", "/sparql")
    assert head.status == 200
    assert head.body == b""
    assert media_type(head) == "text/turtle"


def test_options_preflight_allows_a_browser_on_another_origin(w3c_server: Server) -> None:
    response = send(
        w3c_server,
        "OPTIONS",
        "/sparql",
        {
            "Origin": "https://yasgui.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, accept",
        },
    )
    assert response.status == 204
    assert response.body == b""
    assert response.headers["access-control-allow-origin"] in ("*", "https://yasgui.example")
    methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert {"GET", "POST"} <= methods
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert {"content-type", "accept"} <= allowed


def test_cors_headers_on_answers_and_errors(w3c_server: Server) -> None:
    origin = {"Origin": "https://yasgui.example"}
    answer = send(w3c_server, "GET", query_target("ASK {}"), origin)
    error = send(w3c_server, "GET", query_target("ASK {"), origin)
    for response in (answer, error):
        assert response.headers["access-control-allow-origin"] in ("*", "https://yasgui.example")
    exposed = {
        h.strip().lower() for h in answer.headers["access-control-expose-headers"].split(",")
    }
    assert "etag" in exposed  # a browser client can read it to revalidate


# --- ETag and If-None-Match -----------------------------------------------------------


def test_etag_then_if_none_match_gives_304_without_body(w3c_server: Server) -> None:
    target = query_target(SELECT_DOCUMENTS)
    first = send(w3c_server, "GET", target)
    assert first.status == 200
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and etag.endswith('"')
    again = send(w3c_server, "GET", target, {"If-None-Match": etag})
    assert again.status == 304
    assert again.body == b""
    assert again.headers["etag"] == etag
    # in a list, and as "*"
    listed = send(w3c_server, "GET", target, {"If-None-Match": f'W/"other", {etag}'})
    assert listed.status == 304
    assert send(w3c_server, "GET", target, {"If-None-Match": "*"}).status == 304
    # another tag: the full answer
    other = send(w3c_server, "GET", target, {"If-None-Match": 'W/"0-0"'})
    assert other.status == 200
    assert other.body == first.body


def test_etag_differs_by_format_and_dataset(w3c_server: Server) -> None:
    target = query_target(SELECT_DOCUMENTS)
    as_json = send(w3c_server, "GET", target).headers["etag"]
    as_csv = send(w3c_server, "GET", target, {"Accept": "text/csv"}).headers["etag"]
    other_graph = send(w3c_server, "GET", target + "&default-graph-uri=urn%3Ax").headers["etag"]
    assert len({as_json, as_csv, other_graph}) == 3


def test_etag_changes_when_ingest_changes_the_data(
    tmp_path: Path, start_server: StartServer
) -> None:
    store = tmp_path / "store"
    files = write_w3c_data(tmp_path / "data")
    ingest(store, *files[:2])
    server = start_server(store)
    target = query_target(SELECT_DOCUMENTS, "format=csv")
    before = send(server, "GET", target)
    assert before.status == 200
    version = json.loads(send(server, "GET", "/health").body)["version"]
    assert version and version in before.headers["etag"]

    ingest(store, files[2])  # a third document, while the server runs

    after = send(server, "GET", target, {"If-None-Match": before.headers["etag"]})
    assert after.status == 200  # the old tag no longer matches: the data changed
    assert after.headers["etag"] != before.headers["etag"]
    rows = list(csv.reader(io.StringIO(after.body.decode("utf-8"))))
    assert [r[0] for r in rows[1:]] == [w3c_document(n) for n in (1, 2, 3)]
    assert send(server, "GET", target, {"If-None-Match": after.headers["etag"]}).status == 304


# --- content negotiation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/csv;q=0.5, application/sparql-results+xml", "application/sparql-results+xml"),
        ("*/*", "application/sparql-results+json"),
        ("application/*;q=0.1, text/*", "text/csv"),
        ("text/tab-separated-values;q=0.9, text/csv;q=0.8", "text/tab-separated-values"),
        ("application/json", "application/sparql-results+json"),
        ("text/html, application/xml;q=0.9, */*;q=0.8", "application/sparql-results+xml"),
    ],
)
def test_accept_with_q_values_and_wildcards(w3c_server: Server, accept: str, expected: str) -> None:
    response = send(w3c_server, "GET", query_target(SELECT_DOCUMENTS), {"Accept": accept})
    assert response.status == 200, response.body
    assert media_type(response) == expected


def test_format_parameter_wins_over_accept(w3c_server: Server) -> None:
    response = send(
        w3c_server,
        "GET",
        query_target(SELECT_DOCUMENTS, "format=tsv"),
        {"Accept": "application/sparql-results+json"},
    )
    assert response.status == 200
    assert media_type(response) == "text/tab-separated-values"
    lines = response.body.decode("utf-8").splitlines()
    assert lines[0] == "?doc"
    assert lines[1:] == [f"<{w3c_document(n)}>" for n in (1, 2, 3)]


@pytest.mark.parametrize(
    ("query", "extra", "accept"),
    [
        (SELECT_DOCUMENTS, (), "text/html"),
        (SELECT_DOCUMENTS, (), "text/turtle"),
        (SELECT_DOCUMENTS, (), "application/sparql-results+json;q=0"),
        (SELECT_DOCUMENTS, ("format=turtle",), "*/*"),
        (SELECT_DOCUMENTS, ("format=nonsense",), "*/*"),
        ("ASK {}", (), "text/csv"),
        ("CONSTRUCT WHERE { ?s ?p ?o }", (), "application/sparql-results+json"),
        ("CONSTRUCT WHERE { ?s ?p ?o }", ("format=csv",), "*/*"),
    ],
)
def test_unacceptable_is_406(
    w3c_server: Server, query: str, extra: tuple[str, ...], accept: str
) -> None:
    response = send(w3c_server, "GET", query_target(query, *extra), {"Accept": accept})
    error = assert_raw_error(response, 406)
    assert "available" in error["detail"]


# --- the service description -----------------------------------------------------------


def test_get_without_query_is_the_service_description(w3c_server: Server) -> None:
    response = send(w3c_server, "GET", "/sparql")
    assert response.status == 200
    assert media_type(response) == "text/turtle"
    graph = Graph().parse(data=response.body, format="turtle")
    [service] = graph.subjects(RDF.type, URIRef(SD + "Service"))
    assert graph.value(service, URIRef(SD + "endpoint")) == URIRef(w3c_server.sparql)
    languages = set(graph.objects(service, URIRef(SD + "supportedLanguage")))
    assert languages == {URIRef(SD + "SPARQL11Query")}  # no SPARQL11Update: read-only
    formats = set(graph.objects(service, URIRef(SD + "resultFormat")))
    assert URIRef("http://www.w3.org/ns/formats/SPARQL_Results_TSV") in formats


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/n-triples", "application/n-triples"),
        ("application/rdf+xml;q=0.5, application/ld+json", "application/ld+json"),
        ("*/*", "text/turtle"),
    ],
)
def test_service_description_is_negotiable(w3c_server: Server, accept: str, expected: str) -> None:
    response = send(w3c_server, "GET", "/sparql", {"Accept": accept})
    assert response.status == 200
    assert media_type(response) == expected


def test_service_description_406(w3c_server: Server) -> None:
    response = send(w3c_server, "GET", "/sparql", {"Accept": "application/sparql-results+json"})
    assert_raw_error(response, 406)
