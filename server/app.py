"""The application factory."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Flask, Response, g, request

from whatworks import __version__
from whatworks.core.config import open_store_for_queries
from whatworks.core.errors import StoreError

from . import errors
from .api_error import ApiError
from .negotiation import JSON_ONLY, offers
from .settings import Settings
from .state import EXTENSION, ServerState, server_state


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.request_id = getattr(g, "request_id", "-")
        except RuntimeError:  # outside a request
            record.request_id = "-"
        return True


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the server for the store in ``config["store"]`` (see :class:`Settings`).

    :raises whatworks.core.errors.WhatworksError: a bad setting.
    :raises whatworks.core.errors.StoreError: there is no store at the configured location.
    """
    settings = Settings.load(config)
    store = open_store_for_queries(
        settings.store, query_workers=settings.query_workers, queue_timeout=settings.queue_timeout
    )
    app = Flask("whatworks.server")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = ServerState(settings, store)

    handler = logging.StreamHandler()
    handler.addFilter(_RequestId())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    )
    log = logging.getLogger("whatworks.server")
    if not log.handlers:
        log.addHandler(handler)
        log.setLevel(logging.INFO)

    @app.before_request
    def _start() -> None:
        supplied = request.headers.get("X-Request-ID", "")
        g.request_id = (
            supplied
            if 0 < len(supplied) <= 64 and supplied.isprintable()
            else uuid.uuid4().hex[:16]
        )
        g.started = time.perf_counter()
        _check_query_string(request.query_string)

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "-")
        response.headers.setdefault("Server", f"whatworks/{__version__}")
        if settings.cors_origin:
            response.headers["Access-Control-Allow-Origin"] = settings.cors_origin
            response.headers["Access-Control-Expose-Headers"] = "ETag, X-Request-ID"
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        log.info("%s %s %s %.1f ms", request.method, request.path, response.status_code, elapsed)
        return response

    errors.register(app)

    @app.errorhandler(StoreError)
    def _store_down(error: StoreError) -> Response:
        # Reading the dataset version of a remote store (ETags, /health) failed.
        log.warning("the store is unavailable: %s", error)
        return errors.error_response(
            503, f"the store is unavailable; try again shortly ({error})", {"Retry-After": "5"}
        )

    _register_blueprints(app)

    @app.get("/health")
    @offers(JSON_ONLY)
    def health() -> Response:
        version = store.current_version()
        return Response(f'{{"status": "ok", "version": "{version}"}}', mimetype="application/json")

    return app


def _check_query_string(raw: bytes) -> None:
    """Refuse a query string that is not UTF-8 once unescaped, on every route: Werkzeug
    would read it with replacement characters and answer as if the text were different.

    :raises ApiError: 400, naming the byte.
    """
    if not raw:
        return
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(
            400, f"the query string is not valid UTF-8 (byte {exc.start} once unescaped)"
        ) from exc


def settings_of(app: Flask) -> Settings:
    return server_state(app).settings


def _register_blueprints(app: Flask) -> None:
    """Every route of the server, registered here and nowhere else: one blueprint a concern."""
    from . import (
        api,
        api_docs_pages,
        editor_pages,
        explore_pages,
        gap_map_pages,
        la_pages,
        ontology_pages,
        pages,
        resource_pages,
        sparql_protocol,
        void_pages,
    )

    for module in (
        sparql_protocol,
        api,
        api_docs_pages,
        editor_pages,
        explore_pages,
        gap_map_pages,
        ontology_pages,
        resource_pages,
        pages,
        la_pages,
        void_pages,
    ):
        app.register_blueprint(module.blueprint)
