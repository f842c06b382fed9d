"""``/sparql-editor``: YASGUI, installed from the npm registry (``package.json``, ``npm ci``)
and served from ``node_modules`` by this server, pointed at ``/sparql``. The catalogue's
queries are its examples, shown without PREFIX lines: the editor knows the project's
prefixes (:data:`whatworks.core.namespaces.PREFIXES`, handed to the page once) and declares
those a query uses but does not declare when it sends it, so ``/sparql`` always receives a
complete query.

In an example, a parameter the query needs (or one with a default) is written in as an
example value, so the query runs as it stands; optional filters stay
``wwfn:param("...")``, which is unbound at ``/sparql``, so they filter nothing. This is
text for a person to edit, never a way to run what a request sent.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, render_template
from rdflib.term import Node

from whatworks.core.catalogue import NamedQuery, catalogue
from whatworks.core.namespaces import ID, PREFIXES

from .negotiation import FILES, HTML_ONLY, offers
from .vendor_files import node_modules, send_vendor_file

blueprint = Blueprint("editor", __name__)

#: The files of the YASGUI build this server hands out (nothing else under node_modules).
YASGUI_FILES = {"yasgui.min.js", "yasgui.min.css", "yasgui.min.js.map"}


def yasgui_build() -> Path:
    return node_modules() / "@zazuko" / "yasgui" / "build"


def example_text(named: NamedQuery) -> str:
    examples: dict[str, Node] = {}
    for param in named.params:
        example = param.default
        if example is None and param.required:
            allowed = param.allowed()
            if allowed:
                example = "reunification" if "reunification" in allowed else allowed[0]
        if example is None:
            continue  # left unbound: the person fills it in
        raw = str(example).lower() if isinstance(example, bool) else str(example)
        examples[param.name] = param.bind(raw)
    text = named.written_out(examples)
    head = f"# {named.summary}\n# From queries/{named.name}.rq; parameters: " + (
        ", ".join(p.name for p in named.params) or "none"
    )
    return head + "\n" + text  # no PREFIX lines: the editor declares the project's prefixes


@blueprint.get("/sparql-editor")
@offers(HTML_ONLY)
def editor() -> Response:
    examples = [
        {"name": q.name, "summary": q.summary, "query": example_text(q)}
        for q in catalogue().values()
    ]
    html = render_template(
        "sparql_editor.html",
        examples=json.dumps(examples).replace("</", "<\\/"),
        prefixes=json.dumps(PREFIXES),
        id_base=str(ID),
        installed=(yasgui_build() / "yasgui.min.js").exists(),
    )
    return Response(html, mimetype="text/html")


@blueprint.get("/vendor/yasgui/<string:name>")
@offers(FILES)
def yasgui_file(name: str) -> Response:
    return send_vendor_file(yasgui_build(), YASGUI_FILES, name, package="YASGUI")
