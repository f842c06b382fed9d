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

import json
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from whatworks import __version__
from whatworks.core.catalogue import (
    BadParameter,
    NamedQuery,
    UnknownQuery,
    catalogue,
    envelope,
    get,
)
from whatworks.core.query_pool import BOOLEAN, GRAPH, SOLUTIONS, Job

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


@blueprint.get("/api/queries/<string:name>")
@offers(API)
def run_query(name: str) -> Response:
    name, suffix_media = API.split(name)
    try:
        named = get(name)
    except UnknownQuery as exc:
        raise ApiError(404, str(exc)) from exc
    given = {k: v for k, v in request.args.items() if k != "format"}
    for key in request.args:
        if len(request.args.getlist(key)) > 1:
            raise ApiError(400, f"parameter {key} is given more than once")
    try:
        bindings = named.bindings(given)
    except BadParameter as exc:
        raise ApiError(400, str(exc)) from exc
    if named.form != "SELECT":
        raise ApiError(500, f"catalogue query {name} is not a SELECT query")
    media = choose(API, suffix_media=suffix_media, format_param=request.args.get("format"))
    state = server_state()
    settings = state.settings
    version = state.store.current_version()
    worker_media = CSV if media == CSV else SPARQL_JSON
    job = Job(
        named.sparql(),
        {SOLUTIONS: worker_media, BOOLEAN: SPARQL_JSON, GRAPH: "text/turtle"},
        max_bytes=settings.max_result_bytes,
        parameters=bindings,
    )
    answer = run_bounded(job, what=f"catalogue query {name}")
    headers = {
        "X-Query-Name": named.name,
        "X-Query-SHA256": named.sha256,
        "X-Dataset-Version": version,
        "ETag": f'W/"{version}-{named.sha256[:12]}"',
        "Vary": "Accept",
    }
    if media == CSV:
        return Response(answer.body, content_type="text/csv; charset=utf-8", headers=headers)
    results = json.loads(answer.body)
    if media == SPARQL_JSON:
        return Response(answer.body, content_type=SPARQL_JSON, headers=headers)
    response = jsonify(envelope(named, given, version, results))
    response.headers.update(headers)
    return response


# -- OpenAPI ---------------------------------------------------------------------------------

_ERROR = {"$ref": "#/components/responses/Error"}
#: The WSGI server's own answer to request headers (the URL included) over its limit.
_PLAIN = {
    "description": "Request header fields (or the URL) too large",
    "content": {"text/plain": {"schema": {"type": "string"}}},
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
        parameters = [
            {
                "name": p.name,
                "in": "query",
                "required": p.required,
                "description": p.description or p.name,
                "schema": p.schema(),
            }
            for p in named.params
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
