"""``/id/...``: every IRI minted under ``https://w3id.org/whatworks/id/`` dereferences here.

Direct content negotiation (200, never 303): the thing's IRI is the w3id.org one, and
w3id.org already redirects it to this server, so the URL served here is a document about
the thing, not the thing; a second redirect would only cost a round trip. Each format also
has a URL of its own (``.ttl``, ``.jsonld``, ``.nt``, ``.rdf``, ``.html``), named in
``Content-Location`` and in ``Link: rel="alternate"`` headers. See docs/pages.md.
"""

from __future__ import annotations

from functools import cache

from flask import Blueprint, Response, render_template, request
from rdflib import Graph, URIRef

from whatworks.core.catalogue import internal
from whatworks.core.formats import HTML, JSON_LD, media_format, serialize_graph
from whatworks.core.namespaces import ID, PREFIXES
from whatworks.core.vocab import EMMIE

from .errors import error_response
from .negotiation import RESOURCE, choose, offers, prefers_html
from .page_data import construct, dataset_version
from .resource_views import page_model

blueprint = Blueprint("resources", __name__)

#: The RDF types, each with its own URL (``Link: rel="alternate"``).
RDF_TYPES = RESOURCE.media[1:]


@cache
def _describe_query() -> str:
    return internal("describe").text


def _graph(path: str) -> Graph:
    """The description of ``/id/{path}``, with the authors and year of the studies it names
    (so that its page names them by author and year)."""
    graph = construct(_describe_query(), {"iri": URIRef(str(ID) + path)}, what="describe")
    studies = sorted({s for s in graph.subjects(EMMIE.reportedIn, None) if isinstance(s, URIRef)})
    if studies:
        names = internal("describe_study_names").prepare({"studies": studies})
        graph += construct(names.text, names.parameters, what="describe")
    return graph


def serialize(graph: Graph, media: str) -> bytes:
    """``graph`` in one of :data:`RDF_TYPES`, with the project's prefixes."""
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, replace=True)
    if media == JSON_LD:
        return serialize_graph(graph, media, context=dict(PREFIXES), auto_compact=True)
    return serialize_graph(graph, media)


@blueprint.get("/id/<path:path>")
@offers(RESOURCE)
def resource(path: str) -> Response:
    key, suffix_media = RESOURCE.split(path)
    graph = _graph(key)
    if not graph and suffix_media:
        # A key may itself end in ".rdf" and the like: then the suffix is part of it.
        key, suffix_media = path, None
        graph = _graph(key)
    media = choose(RESOURCE, suffix_media=suffix_media, format_param=request.args.get("format"))
    iri = str(ID) + key
    if not graph:
        detail = f"nothing is known about <{iri}>"
        if media == HTML and prefers_html():
            html = render_template("not_found.html", iri=iri, detail=detail)
            return Response(html, status=404, mimetype=HTML, headers={"Vary": "Accept"})
        return error_response(404, detail, {"Vary": "Accept"})
    headers = {
        "Vary": "Accept",
        "Link": ", ".join(
            f'</id/{key}{media_format(m).suffix}>; rel="alternate"; type="{m}"' for m in RDF_TYPES
        ),
        "ETag": f'W/"{dataset_version()}-{media}"',
    }
    if suffix_media is None:
        headers["Content-Location"] = f"/id/{key}{media_format(media).suffix}"
    if media == HTML:
        body = render_template("resource.html", **page_model(graph, URIRef(iri)))
        response = Response(body, mimetype=HTML, headers=headers)
    else:
        data = serialize(graph, media)
        response = Response(data, content_type=media_format(media).content_type, headers=headers)
    response.make_conditional(request)
    return response
