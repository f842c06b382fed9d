"""``/api``: the query catalogue as a typed API, and its OpenAPI 3.1 description.

- ``GET /api/queries``: the catalogue (name, summary, description, tags, parameters).
- ``GET /api/queries/<name>?param=...``: run a named query. JSON by default (the answer
  envelope: query name and hash, dataset version, parameters, columns, rows);
  ``application/sparql-results+json`` for SPARQL JSON; ``text/csv`` (or the ``.csv``
  suffix) for CSV; ``.json`` forces the envelope.
- ``GET /openapi.json``: OpenAPI 3.1, generated from the queries' front matter.

Queries run in the same bounded worker processes as ``/sparql``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request, url_for
from rdflib.term import Node

from whatworks import __version__
from whatworks.analysis.what_works import COLUMNS as WHAT_WORKS_COLUMNS
from whatworks.analysis.what_works import Answer as WhatWorksAnswer
from whatworks.analysis.what_works import flat
from whatworks.core.catalogue import (
    BadParameter,
    NamedQuery,
    Parameter,
    UnknownQuery,
    catalogue,
    envelope,
    get,
)
from whatworks.core.query_pool import BOOLEAN, GRAPH, SOLUTIONS, Job

from . import what_works
from .answer_cache import AnswerCache
from .api_error import ApiError
from .execution import run_bounded
from .negotiation import API, JSON_ONLY, choose, offers
from .state import server_state

blueprint = Blueprint("api", __name__)

ENVELOPE = "application/json"
SPARQL_JSON = "application/sparql-results+json"
CSV = "text/csv"


def _describe(named: NamedQuery) -> dict[str, Any]:
    return {
        "name": named.name,
        "summary": named.summary,
        "description": named.description,
        "tags": list(named.tags),
        "query_sha256": named.sha256,
        "url": url_for("api.run_query", name=named.name, _external=False),
        "parameters": [
            {
                "name": p.name,
                "type": p.type,
                "required": p.required,
                "default": p.default,
                "description": p.description,
                **({"scheme": p.scheme} if p.scheme else {}),
                **({"allowed": p.allowed()} if p.allowed() else {}),
                **({"minimum": p.minimum} if p.minimum is not None else {}),
                **({"maximum": p.maximum} if p.maximum is not None else {}),
            }
            for p in named.params
        ],
    }


@blueprint.get("/api/queries")
@offers(JSON_ONLY)
def list_queries() -> Response:
    return jsonify({"queries": [_describe(q) for q in catalogue().values()]})


#: Rows of a page when ``limit`` is not given, and the most a page may hold.
PAGE_ROWS = 50
MAX_PAGE_ROWS = 500
#: Parameters of every API operation, not of the query.
PAGING = ("limit", "offset")


def paging(args: Mapping[str, str]) -> tuple[int, int]:
    """``limit`` (1-500, default 50) and ``offset`` (0 or more) of the request.

    :raises ApiError: 400 naming the parameter, what it must be and what was given.
    """
    out = []
    for name, default, low, high in (
        ("limit", PAGE_ROWS, 1, MAX_PAGE_ROWS),
        ("offset", 0, 0, None),
    ):
        raw = args.get(name)
        if raw is None or raw == "":
            out.append(default)
            continue
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            bound = f"from {low} to the maximum {high}" if high is not None else f"{low} or more"
            raise ApiError(400, f"{name} must be a whole number {bound}; found {raw!r}")
        out.append(value)
    return out[0], out[1]


def etag(version: str, query: str, given: Mapping[str, str], *parts: object) -> str:
    """The entity tag of an answer: the dataset version, the query's text, its parameters
    and whatever else shapes the response (the page, the media type)."""
    text = json.dumps([version, query, sorted(given.items()), *map(str, parts)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def next_url(offset: int, limit: int, total: int) -> str | None:
    """The absolute URL of the next page of this request, or None on the last page."""
    if offset + limit >= total:
        return None
    args = request.args.to_dict()
    args["offset"] = str(offset + limit)
    args.setdefault("limit", str(limit))
    return f"{request.base_url}?{urlencode(args)}"


def _answers() -> AnswerCache[Any]:
    state = server_state()
    cache: AnswerCache[Any] = state.caches.setdefault("api_answers", AnswerCache())
    return cache


def _sparql_results(named: NamedQuery, bindings: dict[str, Node], given: dict[str, str]) -> Any:
    """The SPARQL JSON results of the catalogue query (whole), once per version."""
    state = server_state()

    def compute() -> tuple[Any, int]:
        job = Job(
            named.sparql(),
            {SOLUTIONS: SPARQL_JSON, BOOLEAN: SPARQL_JSON, GRAPH: "text/turtle"},
            max_bytes=state.settings.max_result_bytes,
            parameters=bindings,
        )
        body = run_bounded(job, what=f"catalogue query {named.name}").body
        return json.loads(body), len(body)

    key = ("sparql", named.name, tuple(sorted(given.items())))
    return _answers().get(state.store.current_version(), key, compute)


def _what_works(given: dict[str, str]) -> WhatWorksAnswer:
    def compute() -> tuple[WhatWorksAnswer, int]:
        found = what_works.answer(given)
        # an estimate of its size (its rows are built as pages read them: decision 0014)
        return found, 2000 * len(found.rows)

    key = ("what-works", tuple(sorted(given.items())))
    found: WhatWorksAnswer = _answers().get(server_state().store.current_version(), key, compute)
    return found


def what_works_pages() -> AnswerCache[Any]:
    """The cache of answers, pages and the explorer's pages of the current version."""
    return _answers()


def what_works_facets_of(given: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """The facets of what_works_for_whom for ``given`` (checked), cached per version."""

    def compute() -> tuple[dict[str, list[dict[str, Any]]], int]:
        listed = what_works.facets(given)
        return listed, 200 * sum(len(v) for v in listed.values())

    key = ("what-works-facets", tuple(sorted(given.items())))
    found: dict[str, list[dict[str, Any]]] = _answers().get(
        server_state().store.current_version(), key, compute
    )
    return found


def _csv(columns: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def _csv_cell(value: Any) -> str:
    value = flat(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def what_works_envelope(
    given: dict[str, str],
    version: str,
    found: WhatWorksAnswer,
    limit: int,
    offset: int,
    following: str | None,
) -> dict[str, Any]:
    """The JSON answer of what_works_for_whom: the catalogue's envelope, one page of rows,
    the paging fields, ``empty_because`` and the facets' URL (the API's and the
    explorer's)."""
    named = get(what_works.QUERY)
    return {
        **envelope(named, given, version, {"head": {"vars": []}}),
        "columns": list(WHAT_WORKS_COLUMNS),
        "rows": found.rows[offset : offset + limit],
        "total": len(found.rows),
        "limit": limit,
        "offset": offset,
        "next": following,
        "empty_because": [
            {
                **way,
                "url": url_for(
                    "api.run_query",
                    name=what_works.QUERY,
                    _external=True,
                    **{k: v for k, v in given.items() if k not in way["parameters"]},
                ),
            }
            for way in found.empty_because
        ],
        "facets": url_for("api.what_works_facets", _external=True, **given),
    }


def what_works_answer(given: dict[str, str]) -> WhatWorksAnswer:
    """The whole answer of what_works_for_whom to ``given`` (checked), cached per version."""
    return _what_works(given)


@blueprint.get("/api/queries/<string:name>")
@offers(API)
def run_query(name: str) -> Response:
    name, suffix_media = API.split(name)
    try:
        named = get(name)
    except UnknownQuery as exc:
        raise ApiError(404, str(exc)) from exc
    for key in request.args:
        if len(request.args.getlist(key)) > 1:
            raise ApiError(400, f"parameter {key} is given more than once")
    limit, offset = paging(request.args)
    given = {k: v for k, v in request.args.items() if k != "format" and k not in PAGING}
    try:
        bindings = named.bindings(given)
    except BadParameter as exc:
        raise ApiError(400, str(exc)) from exc
    if named.form != "SELECT":
        raise ApiError(500, f"catalogue query {name} is not a SELECT query")
    media = choose(API, suffix_media=suffix_media, format_param=request.args.get("format"))
    version = server_state().store.current_version()
    tag = etag(version, named.text, given, limit, offset, media)
    headers = {
        "X-Query-Name": named.name,
        "X-Query-SHA256": named.sha256,
        "X-Dataset-Version": version,
        "Vary": "Accept",
        "Cache-Control": "public, max-age=0, must-revalidate",
    }
    if request.if_none_match and request.if_none_match.contains_weak(tag):
        response = Response(status=304, headers=headers)
        response.set_etag(tag)
        return response

    def compute() -> tuple[tuple[bytes, str, dict[str, str]], int]:
        made = _page(named, given, bindings, media, version, limit, offset, headers)
        body = made.get_data()
        extra = {k: made.headers[k] for k in ("Link", "X-Total-Count") if k in made.headers}
        return (body, made.content_type or ENVELOPE, extra), len(body)

    # the page itself is kept too: a repeat is a lookup (the tag names everything it shows)
    body, content_type, extra = _answers().get(version, ("page", tag), compute)
    response = Response(body, content_type=content_type, headers={**headers, **extra})
    response.set_etag(tag)
    return response


def _page(
    named: NamedQuery,
    given: dict[str, str],
    bindings: dict[str, Node],
    media: str,
    version: str,
    limit: int,
    offset: int,
    headers: dict[str, str],
) -> Response:
    """One page of the answer to ``named`` with ``given``, in ``media``."""
    headers = dict(headers)
    python = named.name == what_works.QUERY and media != SPARQL_JSON
    found = _what_works(given) if python else None
    results = None if python else _sparql_results(named, bindings, given)
    if found is not None:
        total = len(found.rows)
    else:
        total = len(results.get("results", {}).get("bindings", [])) if results else 0
    following = next_url(offset, limit, total)
    if following:
        headers["Link"] = f'<{following}>; rel="next"'
    headers["X-Total-Count"] = str(total)
    window = slice(offset, offset + limit)
    if found is not None:
        columns = list(WHAT_WORKS_COLUMNS)
        rows = found.rows[window]
        if media == CSV:
            body = _csv(columns, [[_csv_cell(r.get(c)) for c in columns] for r in rows])
            response = Response(body, content_type="text/csv; charset=utf-8", headers=headers)
        else:
            response = jsonify(what_works_envelope(given, version, found, limit, offset, following))
            response.headers.update(headers)
    else:
        assert results is not None
        page = {
            **results,
            "results": {"bindings": results.get("results", {}).get("bindings", [])[window]},
        }
        if media == CSV:
            variables = list(page.get("head", {}).get("vars", []))
            body = _csv(
                variables,
                [
                    [str(b[v]["value"]) if v in b else "" for v in variables]
                    for b in page["results"]["bindings"]
                ],
            )
            response = Response(body, content_type="text/csv; charset=utf-8", headers=headers)
        elif media == SPARQL_JSON:
            response = Response(json.dumps(page), content_type=SPARQL_JSON, headers=headers)
        else:
            response = jsonify(
                {
                    **envelope(named, given, version, page),
                    "total": total,
                    "limit": limit,
                    "offset": offset,
                    "next": following,
                }
            )
            response.headers.update(headers)
    return response


@blueprint.get(f"/api/queries/{what_works.QUERY}/facets")
@offers(JSON_ONLY)
def what_works_facets() -> Response:
    """For each filter of what_works_for_whom: the values occurring under the other filters
    given, with the number of interventions each gives."""
    named = get(what_works.QUERY)
    for key in request.args:
        if len(request.args.getlist(key)) > 1:
            raise ApiError(400, f"parameter {key} is given more than once")
    given = {k: v for k, v in request.args.items() if k != "format"}
    try:
        named.bindings(given)
    except BadParameter as exc:
        raise ApiError(400, str(exc)) from exc
    version = server_state().store.current_version()
    tag = etag(version, named.text, given, "facets")
    headers = {"X-Dataset-Version": version, "Cache-Control": "public, max-age=0, must-revalidate"}
    if request.if_none_match and request.if_none_match.contains_weak(tag):
        response = Response(status=304, headers=headers)
    else:
        listed = what_works_facets_of(given)
        response = jsonify(
            {
                "query": named.name,
                "dataset_version": version,
                "parameters": given,
                "facets": listed,
            }
        )
        response.headers.update(headers)
    response.set_etag(tag)
    return response


# -- OpenAPI ---------------------------------------------------------------------------------

_ERROR = {"$ref": "#/components/responses/Error"}
#: The WSGI server's own answer to request headers (the URL included) over its limit.
_PLAIN = {
    "description": "Request header fields (or the URL) too large",
    "content": {"text/plain": {"schema": {"type": "string"}}},
}


def _query_parameter(p: Parameter) -> dict[str, Any]:
    """A catalogue query's parameter as an OpenAPI query parameter."""
    return {
        "name": p.name,
        "in": "query",
        "required": p.required,
        "description": p.description or p.name,
        "schema": p.schema(),
    }


def openapi_document() -> dict[str, Any]:
    """OpenAPI 3.1 for the API and the SPARQL endpoint, from the catalogue's front matter."""
    paths: dict[str, Any] = {
        "/api/queries": {
            "get": {
                "operationId": "listQueries",
                "summary": "The query catalogue",
                "responses": {
                    "200": {
                        "description": "Every named query with its parameters",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Catalogue"}
                            }
                        },
                    }
                },
            }
        },
        "/sparql": {
            "get": {
                "operationId": "sparqlQuery",
                "summary": "SPARQL 1.1 Protocol query (read-only)",
                "parameters": [
                    {
                        "name": "query",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 65536},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "Query results or the service description",
                        "content": {
                            SPARQL_JSON: {"schema": {"type": "object"}},
                            "text/turtle": {"schema": {"type": "string"}},
                        },
                    },
                    "304": {"description": "Not modified"},
                    "400": _ERROR,
                    "403": _ERROR,
                    "406": _ERROR,
                    "414": _ERROR,
                    "422": _ERROR,
                    "503": _ERROR,
                    "504": _ERROR,
                },
            }
        },
    }
    for named in catalogue().values():
        parameters = [_query_parameter(p) for p in named.params] + [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Rows per page (default {PAGE_ROWS}, at most {MAX_PAGE_ROWS}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_ROWS},
            },
            {
                "name": "offset",
                "in": "query",
                "required": False,
                "description": "Rows to skip before the page (default 0); follow `next`.",
                "schema": {"type": "integer", "minimum": 0},
            },
        ]
        paths[f"/api/queries/{named.name}"] = {
            "get": {
                "operationId": named.name,
                "summary": named.summary,
                "description": named.description,
                "tags": list(named.tags) or ["queries"],
                "parameters": parameters,
                "responses": {
                    "200": {
                        "description": "The answer",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Answer"}},
                            SPARQL_JSON: {"schema": {"type": "object"}},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    "304": {"description": "Not modified (If-None-Match held the ETag)"},
                    "400": _ERROR,
                    "406": _ERROR,
                    "422": _ERROR,
                    "503": _ERROR,
                    "504": _ERROR,
                },
            }
        }
    error_schema = {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["status", "title", "detail", "request_id"],
                "additionalProperties": False,
                "properties": {
                    "status": {"type": "integer"},
                    "title": {"type": "string"},
                    "detail": {"type": "string"},
                    "request_id": {"type": ["string", "null"]},
                },
            }
        },
    }
    facet_parameters = [_query_parameter(p) for p in get(what_works.QUERY).params]
    paths[f"/api/queries/{what_works.QUERY}/facets"] = {
        "get": {
            "operationId": f"{what_works.QUERY}_facets",
            "summary": "The values each filter of what_works_for_whom can take for a question",
            "description": "For each filter parameter, the values occurring under the other "
            "filters given, each with its label and the number of interventions it gives.",
            "tags": ["for-whom"],
            "parameters": facet_parameters,
            "responses": {
                "200": {
                    "description": "The facets",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "304": {"description": "Not modified (If-None-Match held the ETag)"},
                "400": _ERROR,
                "406": _ERROR,
                "503": _ERROR,
                "504": _ERROR,
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "whatworks",
            "version": __version__,
            "description": "What works for whom in children's social care: named "
            "questions over an EMMIE-coded evidence graph.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Error": error_schema,
                "Answer": {
                    "type": "object",
                    "required": [
                        "query",
                        "query_sha256",
                        "dataset_version",
                        "parameters",
                        "columns",
                        "rows",
                    ],
                    "properties": {
                        "query": {"type": "string"},
                        "query_sha256": {"type": "string"},
                        "dataset_version": {"type": ["string", "null"]},
                        "parameters": {"type": "object"},
                        "columns": {"type": "array", "items": {"type": "string"}},
                        "rows": {"type": "array", "items": {"type": "object"}},
                        "total": {"type": "integer", "description": "Rows in the whole answer"},
                        "limit": {"type": "integer"},
                        "offset": {"type": "integer"},
                        "next": {
                            "type": ["string", "null"],
                            "description": "The next page's absolute URL; null on the last",
                        },
                        "empty_because": {
                            "type": "array",
                            "description": "what_works_for_whom: when there are no rows, the "
                            "filters whose removal gives rows",
                            "items": {"type": "object"},
                        },
                        "facets": {"type": "string"},
                    },
                },
                "Catalogue": {
                    "type": "object",
                    "required": ["queries"],
                    "properties": {"queries": {"type": "array", "items": {"type": "object"}}},
                },
            },
            "responses": {
                "Error": {
                    "description": "An error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
            },
        },
    }


@blueprint.get("/openapi.json")
@offers(JSON_ONLY)
def openapi() -> Response:
    return jsonify(openapi_document())
