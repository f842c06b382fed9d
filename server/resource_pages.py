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
from whatworks.core.namespaces import ID, PREFIXES

from .errors import ApiError, error_response
from .page_data import construct, dataset_version
from .pages import wants_html
from .resource_views import page_model

blueprint = Blueprint("resources", __name__)

HTML = "text/html"
#: Media type -> (URL suffix, rdflib serializer).
RDF_FORMATS = {
    "text/turtle": (".ttl", "turtle"),
    "application/ld+json": (".jsonld", "json-ld"),
    "application/n-triples": (".nt", "nt"),
    "application/rdf+xml": (".rdf", "xml"),
}
SUFFIXES = {".html": HTML, **{suffix: media for media, (suffix, _) in RDF_FORMATS.items()}}
FORMAT_NAMES = {
    "html": HTML,
    "ttl": "text/turtle",
    "turtle": "text/turtle",
    "jsonld": "application/ld+json",
    "json-ld": "application/ld+json",
    "json": "application/ld+json",
    "nt": "application/n-triples",
    "ntriples": "application/n-triples",
    "rdf": "application/rdf+xml",
    "rdfxml": "application/rdf+xml",
    "xml": "application/rdf+xml",
}
ALIASES = {
    "application/json": "application/ld+json",
    "application/xhtml+xml": HTML,
    "text/plain": "application/n-triples",
    "application/x-turtle": "text/turtle",
}
OFFERED = (HTML, *RDF_FORMATS)


@cache
def _describe_query() -> str:
    return internal("describe").text


def choose_media(suffix_media: str | None) -> str:
    """The media type to answer with: the URL suffix, else `format`, else `Accept`.

    :raises ApiError: 406 when nothing offered is acceptable.
    """
    if suffix_media:
        return suffix_media
    name = request.args.get("format")
    if name:
        wanted = FORMAT_NAMES.get(name.strip().lower()) or ALIASES.get(name, name)
        if wanted not in OFFERED:
            raise ApiError(406, f"unknown format {name!r}; formats: " + ", ".join(FORMAT_NAMES))
        return wanted
    if not request.accept_mimetypes:
        return HTML
    # Browsers send text/html and */*: HTML first. Aliases count at their own quality.
    best, best_quality = None, 0.0
    for offered in OFFERED:
        quality = request.accept_mimetypes.quality(offered)
        for alias, target in ALIASES.items():
            if target == offered and alias in request.accept_mimetypes.values():
                quality = max(quality, request.accept_mimetypes[alias])
        if quality > best_quality:
            best, best_quality = offered, quality
    if best is None:
        raise ApiError(406, "available: " + ", ".join(OFFERED))
    return best


def _split(path: str) -> tuple[str, str | None]:
    for suffix, media in SUFFIXES.items():
        if path.endswith(suffix):
            return path[: -len(suffix)], media
    return path, None


def _graph(path: str) -> Graph:
    return construct(_describe_query(), {"iri": URIRef(str(ID) + path)}, what="describe")


def serialize(graph: Graph, media: str) -> bytes:
    """``graph`` in one of :data:`RDF_FORMATS`, with the project's prefixes."""
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, replace=True)
    fmt = RDF_FORMATS[media][1]
    if fmt == "json-ld":
        data = graph.serialize(
            format=fmt, context=dict(PREFIXES), auto_compact=True, encoding="utf-8"
        )
    else:
        data = graph.serialize(format=fmt, encoding="utf-8")
    return bytes(data)


@blueprint.get("/id/<path:path>")
def resource(path: str) -> Response:
    key, suffix_media = _split(path)
    graph = _graph(key)
    if not graph and suffix_media:
        # A key may itself end in ".rdf" and the like: then the suffix is part of it.
        key, suffix_media = path, None
        graph = _graph(key)
    media = choose_media(suffix_media)
    iri = str(ID) + key
    if not graph:
        detail = f"nothing is known about <{iri}>"
        if media == HTML and wants_html():
            html = render_template("not_found.html", iri=iri, detail=detail)
            return Response(html, status=404, mimetype=HTML, headers={"Vary": "Accept"})
        return error_response(404, detail, {"Vary": "Accept"})
    headers = {
        "Vary": "Accept",
        "Link": ", ".join(
            f'</id/{key}{suffix}>; rel="alternate"; type="{m}"'
            for m, (suffix, _) in RDF_FORMATS.items()
        ),
        "ETag": f'W/"{dataset_version()}-{media}"',
    }
    if suffix_media is None:
        suffix = ".html" if media == HTML else RDF_FORMATS[media][0]
        headers["Content-Location"] = f"/id/{key}{suffix}"
    if media == HTML:
        body = render_template("resource.html", **page_model(graph, URIRef(iri)))
        response = Response(body, mimetype=HTML, headers=headers)
    else:
        data = serialize(graph, media)
        response = Response(data, content_type=f"{media}; charset=utf-8", headers=headers)
    response.make_conditional(request)
    return response
