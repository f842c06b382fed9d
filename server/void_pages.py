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

from flask import Blueprint, Response, request

from whatworks.core.formats import media_format, serialize_graph
from whatworks.core.query_pool import BOOLEAN, GRAPH, SOLUTIONS, Job
from whatworks.publishing.release import (
    Row,
    Statistics,
    context_bytes,
    describe,
    rows_from_json,
    statistics,
)

from .execution import run_bounded
from .negotiation import GRAPHS, JSON_LD_ONLY, choose, offers
from .page_data import dataset_version
from .state import server_state
from .version_cache import VersionCache

blueprint = Blueprint("void", __name__)

SPARQL_JSON = "application/sparql-results+json"

_statistics_cache = VersionCache(size=1)


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
    return _statistics_cache.get(version, "statistics", lambda: statistics(_select))


def _endpoint() -> str:
    settings = server_state().settings
    return str(settings.public_url or request.url_root.rstrip("/") + "/sparql")


@blueprint.get("/void")
@blueprint.get("/.well-known/void")
@offers(GRAPHS)
def void() -> Response:
    media = choose(GRAPHS, format_param=request.args.get("format"))
    version = dataset_version()
    endpoint = _endpoint()
    etag = '"' + hashlib.sha256(f"{version}\n{endpoint}\n{media}".encode()).hexdigest()[:32] + '"'
    headers = {"Vary": "Accept", "ETag": etag}
    if etag in request.headers.get("If-None-Match", ""):
        return Response(status=304, headers=headers)
    graph = describe(_statistics(version), endpoint=endpoint)
    body = serialize_graph(graph, media)
    return Response(body, content_type=media_format(media).content_type, headers=headers)


@blueprint.get("/context.jsonld")
@offers(JSON_LD_ONLY)
def jsonld_context() -> Response:
    return Response(context_bytes(), content_type="application/ld+json; charset=utf-8")
