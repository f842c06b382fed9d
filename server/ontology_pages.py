"""``/ontology``: the EMMIE ontology. Browsers get its documentation, generated with pyLODE
from the shipped ``emmie.ttl`` (once per process); ``Accept`` (or ``.ttl`` and the other
suffixes, or ``?format=``) gets the ontology itself."""

from __future__ import annotations

import re
import threading
from functools import cache
from importlib.resources import files

from flask import Blueprint, Response, render_template, request, url_for

from whatworks.core.formats import HTML, TURTLE, media_format

from .negotiation import RESOURCE, choose, offers
from .page_data import ontology
from .resource_pages import RDF_TYPES, serialize

blueprint = Blueprint("ontology", __name__)
_lock = threading.Lock()


def _source() -> str:
    return files("whatworks.ontology").joinpath("emmie.ttl").read_text("utf-8")


@cache
def _documentation() -> str:
    from pylode import OntPub  # imported here: only this page needs it

    with _lock:
        return str(OntPub(ontology=_source()).make_html())


def _with_site_header(html: str) -> str:
    """pyLODE's page with the site's header and nav at its top, so it leads on like the others."""
    style = f'<link rel="stylesheet" href="{url_for("pages.static", filename="whatworks.css")}">'
    header = render_template("_site_header.html")
    html = html.replace("</head>", style + "\n</head>", 1)
    return re.sub(r"<body[^>]*>", lambda m: m.group(0) + "\n" + header, html, count=1)


@blueprint.get("/ontology")
@blueprint.get("/ontology<any({}):suffix>".format(", ".join(map(repr, RESOURCE.suffixes))))
@offers(RESOURCE)
def ontology_page(suffix: str = "") -> Response:
    suffix_media = RESOURCE.suffixes.get(suffix)
    media = choose(RESOURCE, suffix_media=suffix_media, format_param=request.args.get("format"))
    headers = {
        "Vary": "Accept",
        "Link": ", ".join(
            f'</ontology{media_format(m).suffix}>; rel="alternate"; type="{m}"' for m in RDF_TYPES
        ),
    }
    if media == HTML:
        return Response(_with_site_header(_documentation()), mimetype=HTML, headers=headers)
    turtle = media == TURTLE
    body = _source().encode("utf-8") if turtle else serialize(ontology(), media)
    return Response(body, content_type=media_format(media).content_type, headers=headers)
