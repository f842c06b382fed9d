"""One JSON error shape for every error the server answers with, and the same error as a
page for a browser.

``{"error": {"status": 400, "title": "Bad Request", "detail": "...", "request_id": "..."}}``
A client that ranks HTML above JSON in ``Accept`` (a browser) gets the same status as an
HTML page saying what went wrong and where to go; scripts (``*/*``, no ``Accept``, JSON)
get the JSON shape. The SPARQL endpoint always answers errors in JSON: its clients are
programs, the SPARQL editor among them. Internal errors are logged with their traceback
and answered without internals.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, NotFound

from whatworks.core.formats import JSON

from .api_error import ApiError
from .negotiation import html_ranked_above

log = logging.getLogger("whatworks.server")


TITLES = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    413: "Content Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


#: Endpoints whose errors are JSON whatever the client accepts (the SPARQL protocol).
JSON_ONLY = {"sparql.sparql"}


def _wants_page() -> bool:
    return request.endpoint not in JSON_ONLY and html_ranked_above((JSON,))


def error_response(status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    """The error as JSON, or as an HTML page when the client is a browser (same status)."""
    response = _page(status, detail) if _wants_page() else _json(status, detail)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    response.vary.add("Accept")
    return response


def _page(status: int, detail: str) -> Response:
    try:
        html = render_template(
            "error.html",
            status=status,
            title=TITLES.get(status, "Error"),
            detail=detail,
            request_id=getattr(g, "request_id", None),
            path=request.path,
        )
    except Exception:  # a page that cannot be drawn must not hide the error itself
        log.exception("the error page could not be rendered")
        return _json(status, detail)
    return Response(html, mimetype="text/html")


def _json(status: int, detail: str) -> Response:
    body = {
        "error": {
            "status": status,
            "title": TITLES.get(status, "Error"),
            "detail": detail,
            "request_id": getattr(g, "request_id", None),
        }
    }
    return jsonify(body)


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api(error: ApiError) -> Response:
        return error_response(error.status, error.detail, error.headers)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        status = error.code or 500
        headers = {}
        if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
            headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
        detail = error.description or TITLES.get(status, "Error")
        if isinstance(error, NotFound) and _wants_page():
            detail = f"There is no page at {request.path}."
        return error_response(status, detail, headers)

    @app.errorhandler(Exception)
    def _bug(error: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "an internal error occurred; it has been logged")
