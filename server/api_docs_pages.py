"""``/api/docs``: the query API's documentation as a page, drawn in the browser from
``/openapi.json`` by Swagger UI. Swagger UI is installed from the npm registry
(``swagger-ui-dist`` in ``package.json``, ``npm ci``) and served from ``node_modules`` by
this server, like YASGUI: no CDN, and no request leaves this server (its validator badge,
which asks an outside service, is off)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, render_template

from .negotiation import FILES, HTML_ONLY, offers
from .vendor_files import node_modules, send_vendor_file

blueprint = Blueprint("api_docs", __name__)

#: The files of the Swagger UI build this server hands out (nothing else under node_modules).
SWAGGER_UI_FILES = {
    "swagger-ui-bundle.js",
    "swagger-ui-bundle.js.map",
    "swagger-ui.css",
    "swagger-ui.css.map",
}


def swagger_ui_build() -> Path:
    return node_modules() / "swagger-ui-dist"


@blueprint.get("/api/docs")
@offers(HTML_ONLY)
def api_docs() -> Response:
    html = render_template(
        "api_docs.html", installed=(swagger_ui_build() / "swagger-ui-bundle.js").exists()
    )
    return Response(html, mimetype="text/html")


@blueprint.get("/vendor/swagger-ui/<string:name>")
@offers(FILES)
def swagger_ui_file(name: str) -> Response:
    return send_vendor_file(swagger_ui_build(), SWAGGER_UI_FILES, name, package="Swagger UI")
