"""``/void``, ``/.well-known/void``: the dataset's VoID and DCAT description; and
``/context.jsonld``, the JSON-LD context of the releases.

The description is the one ``whatworks export --out DIR`` writes
(:mod:`whatworks.publishing.release`) without the files (the server has none): version,
modification time, licence statement, triple counts, class and property partitions, one
subset per named graph, example resources, and this server's SPARQL endpoint
(``public_url``, else the request's URL root + ``/sparql``). Its statistics are SPARQL
aggregates run through the bounded query workers like every other read, computed once per
dataset version. Turtle by default; any graph format of ``/sparql`` by ``Accept`` or
``?format=``.
"""

from __future__ import annotations

import hashlib
import json
import threading

from flask import Blueprint, Response, request

from whatworks.core.query_pool import BOOLEAN, GRAPH, SOLUTIONS, Job
from whatworks.publishing.release import (
    Row,
    Statistics,
    context_bytes,
    describe,
    rows_from_json,
    statistics,
)

from .errors import ApiError
from .execution import run_bounded
from .negotiation import GRAPHS, NotAcceptable, choose
from .page_data import dataset_version
from .state import server_state

blueprint = Blueprint("void", __name__)

SPARQL_JSON = "application/sparql-results+json"
RDFLIB_FORMATS = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
    "application/trig": "trig",
    "application/n-quads": "nquads",
}

_cache: dict[str, Statistics] = {}
_lock = threading.Lock()


def _select(query: str) -> list[Row]:
    settings = server_state().settings
    job = Job(
        query,
        {SOLUTIONS: SPARQL_JSON, BOOLEAN: SPARQL_JSON, GRAPH: "application/n-triples"},
        max_bytes=settings.max_result_bytes,
    )
    answer = run_bounded(job, what="the dataset description")
    return rows_from_json(json.loads(answer.body))


def _statistics(version: str) -> Statistics:
    """The statistics of ``version``, computed at the first request after it changed."""
    with _lock:
        found = _cache.get(version)
    if found is not None:
        return found
    stats = statistics(_select)
    with _lock:
        _cache.clear()
        _cache[version] = stats
    return stats


def _endpoint() -> str:
    settings = server_state().settings
    return str(settings.public_url or request.url_root.rstrip("/") + "/sparql")


@blueprint.get("/void")
@blueprint.get("/.well-known/void")
def void() -> Response:
    try:
        media = choose(GRAPHS, request.accept_mimetypes, request.args.get("format"), graph=True)
    except NotAcceptable as exc:
        raise ApiError(406, str(exc)) from exc
    version = dataset_version()
    endpoint = _endpoint()
    etag = '"' + hashlib.sha256(f"{version}\n{endpoint}\n{media}".encode()).hexdigest()[:32] + '"'
    headers = {"Vary": "Accept", "ETag": etag}
    if etag in request.headers.get("If-None-Match", ""):
        return Response(status=304, headers=headers)
    graph = describe(_statistics(version), endpoint=endpoint)
    body = graph.serialize(format=RDFLIB_FORMATS[media], encoding="utf-8")
    return Response(body, content_type=f"{media}; charset=utf-8", headers=headers)


@blueprint.get("/context.jsonld")
def jsonld_context() -> Response:
    return Response(context_bytes(), content_type="application/ld+json; charset=utf-8")
