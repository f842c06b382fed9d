"""``/sparql``: the SPARQL 1.1 Protocol for queries, read-only and bounded.

- GET ``?query=``, POST form-encoded, POST ``application/sparql-query``;
  ``default-graph-uri`` and ``named-graph-uri`` name graphs of the store (never fetched;
  unknown graphs are empty); without them the default graph is the union of all graphs.
- Results as SPARQL JSON/XML/CSV/TSV or Turtle/N-Triples/JSON-LD/RDF-XML/TriG/N-Quads, by
  ``format`` or ``Accept``; 406 otherwise. GET without a query: the service description,
  or for a browser (HTML ranked above every RDF type, no ``format``) a 303 to the editor.
- Updates are refused (403), SERVICE is refused unless allow-listed (403), queries nested
  deeper than the engine can take are refused (400), queries are stopped at the time
  limit (504), results over the size cap fail whole (422), bodies and queries over their
  limits get 413/414.
- ETag = dataset version + request; ``If-None-Match`` gives 304 without running anything.

Statuses and messages are documented in docs/server.md.
"""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import parse_qsl

from flask import Blueprint, Response, request, url_for
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF

from whatworks import __version__
from whatworks.core.engine import check_iri
from whatworks.core.formats import serialize_graph
from whatworks.core.query_pool import BOOLEAN, GRAPH, SOLUTIONS, Job

from .api_error import ApiError
from .execution import run_bounded
from .negotiation import (
    BOOLEAN_RESULTS,
    GRAPHS,
    RDF_WANTED,
    RESULTS,
    choose,
    html_ranked_above,
    offers,
)
from .settings import Settings
from .sparql_text import MAX_NESTING, read_query
from .state import server_state

blueprint = Blueprint("sparql", __name__)
log = logging.getLogger("whatworks.server")

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = Namespace("http://www.w3.org/ns/formats/")
ALLOW = "GET, HEAD, POST, OPTIONS"


class _Params:
    def __init__(self) -> None:
        self.query: list[str] = []
        self.update = False
        self.default_graphs: list[str] = []
        self.named_graphs: list[str] = []
        self.format: str | None = None

    def add(self, pairs: list[tuple[str, str]]) -> None:
        for name, value in pairs:
            if name == "query":
                self.query.append(value)
            elif name in ("update", "using-graph-uri", "using-named-graph-uri"):
                self.update = True
            elif name == "default-graph-uri":
                self.default_graphs.append(value)
            elif name == "named-graph-uri":
                self.named_graphs.append(value)
            elif name == "format":
                self.format = value


def _pairs(raw: bytes, where: str) -> list[tuple[str, str]]:
    try:
        text = raw.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"the {where} is not valid UTF-8 (byte {exc.start})") from exc


def _settings() -> Settings:
    return server_state().settings


def _read_request(settings: Settings) -> _Params:
    if (request.content_length or 0) > settings.max_body_bytes:
        # whatever is in it, an update included: the body is not read
        raise ApiError(413, f"the request body is larger than {settings.max_body_bytes} bytes")
    params = _Params()
    params.add(_pairs(request.query_string, "query string"))
    if request.method == "POST":
        media = (request.mimetype or "").lower()
        charset = request.mimetype_params.get("charset", "utf-8").lower()
        if media == "application/x-www-form-urlencoded":
            params.add(_pairs(request.get_data(cache=False), "request body"))
        elif media == "application/sparql-query":
            if charset not in ("utf-8", "utf8"):
                raise ApiError(415, f"queries must be sent as UTF-8, not {charset}")
            try:
                params.query.append(request.get_data(cache=False).decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise ApiError(400, f"the query is not valid UTF-8 (byte {exc.start})") from exc
        elif media == "application/sparql-update":
            params.update = True
        else:
            raise ApiError(
                415,
                "POST a query as application/x-www-form-urlencoded (query=...) "
                "or as application/sparql-query; found " + (media or "no Content-Type"),
            )
    if params.update:
        raise ApiError(403, "this endpoint is read-only: SPARQL Update is not accepted")
    if len(params.query) > 1:
        raise ApiError(400, "the request has more than one query; send exactly one")
    if params.query and len(params.query[0]) > settings.max_query_length:
        status = 414 if request.method == "GET" else 413
        raise ApiError(status, f"the query is longer than {settings.max_query_length} characters")
    for graph in (*params.default_graphs, *params.named_graphs):
        try:
            check_iri(graph)
        except ValueError as exc:
            raise ApiError(400, f"the graph name {graph!r} is not an IRI: {exc}") from exc
    return params


@blueprint.route("/sparql", methods=["GET", "POST", "OPTIONS"])
@offers(GRAPHS)  # without a query: the service description; a query's form picks below
def sparql() -> Response:
    if request.method == "OPTIONS":
        return _preflight()
    settings = _settings()
    params = _read_request(settings)
    if not params.query:
        if request.method == "POST":
            raise ApiError(400, "the request has no query")
        if params.format is None and html_ranked_above(RDF_WANTED):
            return _to_the_editor()
        return _service_description(settings, params.format)
    query = params.query[0]
    text = read_query(query)
    if text.update_words:
        raise ApiError(403, f"this endpoint is read-only: {text.update_words[0]} is an update")
    for service in text.services:
        if service is None:
            raise ApiError(
                403, "SERVICE whose endpoint is not written as a full IRI is not allowed"
            )
        if service not in settings.service_allowlist:
            raise ApiError(403, f"SERVICE <{service}> is not allowed on this endpoint")
    if text.depth > MAX_NESTING:
        # the engine parses recursively: thousands of levels overflow its stack
        raise ApiError(
            400,
            f"the query nests {text.depth} levels deep (brackets and prefix operators); "
            f"at most {MAX_NESTING} are accepted",
        )
    graph = text.form in ("CONSTRUCT", "DESCRIBE")
    offered = GRAPHS if graph else (BOOLEAN_RESULTS if text.form == "ASK" else RESULTS)
    media = choose(offered, format_param=params.format)
    version = server_state().store.current_version()
    base = settings.public_url or request.base_url  # relative IRIs resolve against it
    parts = [query, media, base, *params.default_graphs, "|", *params.named_graphs]
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()
    etag = f'W/"{version}-{digest[:20]}"'
    headers = {"ETag": etag, "Vary": "Accept", "Cache-Control": "no-cache"}
    if _matches(request.headers.get("If-None-Match", ""), etag):
        return Response(status=304, headers=headers)
    kinds = {SOLUTIONS: media, BOOLEAN: media, GRAPH: media}
    job = Job(
        query,
        kinds,
        tuple(params.default_graphs),
        tuple(params.named_graphs),
        settings.max_result_bytes,
        query_dataset=text.dataset_clause,
        base_iri=base,
    )
    answer = run_bounded(job)
    headers["X-Query-Seconds"] = f"{answer.seconds:.4f}"
    return Response(
        answer.body, status=200, headers=headers, content_type=_content_type(answer.media_type)
    )


def _content_type(media: str) -> str:
    textual = (
        media.startswith("text/")
        or media.endswith(("json", "xml"))
        or media in ("application/n-triples", "application/trig", "application/n-quads")
    )
    return f"{media}; charset=utf-8" if textual else media


def _matches(header: str, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(","))


def _preflight() -> Response:
    response = Response(status=204)
    response.headers["Allow"] = ALLOW
    response.headers["Access-Control-Allow-Methods"] = ALLOW
    response.headers["Access-Control-Allow-Headers"] = (
        "Accept, Content-Type, If-None-Match, X-Request-ID"
    )
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


def _to_the_editor() -> Response:
    """A browser opening ``/sparql`` (HTML ranked above every RDF type): the SPARQL editor."""
    return Response(status=303, headers={"Location": url_for("editor.editor"), "Vary": "Accept"})


def _service_description(settings: Settings, format_param: str | None) -> Response:
    media = choose(GRAPHS, format_param=format_param)
    endpoint = URIRef(settings.public_url or request.base_url)
    graph = Graph()
    graph.bind("sd", SD)
    graph.bind("dcterms", DCTERMS)
    service = BNode("service")
    dataset = BNode("dataset")
    default = BNode("default")
    add = graph.add
    add((service, RDF.type, SD.Service))
    add((service, SD.endpoint, endpoint))
    add((service, SD.supportedLanguage, SD.SPARQL11Query))
    add((service, SD.feature, SD.UnionDefaultGraph))
    if settings.service_allowlist:
        add((service, SD.feature, SD.BasicFederatedQuery))
    for fmt in (
        "SPARQL_Results_JSON",
        "SPARQL_Results_XML",
        "SPARQL_Results_CSV",
        "SPARQL_Results_TSV",
        "Turtle",
        "N-Triples",
        "JSON-LD",
        "RDF_XML",
        "TriG",
        "N-Quads",
    ):
        add((service, SD.resultFormat, FORMATS[fmt]))
    add((service, SD.defaultDataset, dataset))
    add((dataset, RDF.type, SD.Dataset))
    add((dataset, SD.defaultGraph, default))
    add((default, RDF.type, SD.Graph))
    add((service, DCTERMS.title, Literal("whatworks SPARQL endpoint (read-only)")))
    add(
        (
            service,
            DCTERMS.description,
            Literal(
                "EMMIE-coded evidence on children's social care. The default graph is the union of "
                f"all named graphs. Queries stop after {settings.query_timeout:g} s; results are "
                f"capped at {settings.max_result_bytes} bytes and never truncated."
            ),
        )
    )
    add((service, DCTERMS.hasVersion, Literal(f"whatworks {__version__}")))
    body = serialize_graph(graph, media)
    return Response(body, content_type=_content_type(media), headers={"Vary": "Accept"})
