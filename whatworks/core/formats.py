"""Every media type whatworks answers with, described once: its short names (``format=``),
its URL suffix, the other media types clients send meaning it, and how to write it.

The engine's and rdflib's own format registries do the writing: an entry names
pyoxigraph's format through ``RdfFormat.from_media_type`` /
``QueryResultsFormat.from_media_type`` and rdflib's serializer plugin by its registered
name, so no other table from media type to format is needed. Content negotiation over
these entries is the server's (``whatworks.server.negotiation``); the store backends and
the server both write through them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from rdflib import Graph

HTML = "text/html"
JSON = "application/json"
SPARQL_JSON = "application/sparql-results+json"
SPARQL_XML = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"
TURTLE = "text/turtle"
N_TRIPLES = "application/n-triples"
JSON_LD = "application/ld+json"
RDF_XML = "application/rdf+xml"
TRIG = "application/trig"
N_QUADS = "application/n-quads"


@dataclass(frozen=True)
class MediaFormat:
    """One media type: how clients name it and how it is written."""

    media_type: str
    #: ``format=`` values meaning this type, in the order error messages list them. A
    #: name may belong to several types ("json"): it means the first one a route offers.
    names: tuple[str, ...] = ()
    #: The URL suffix of a document in this type (``/id/...``, ``/ontology``, downloads).
    suffix: str | None = None
    #: Other media types clients send meaning this one (``text/plain`` for N-Triples). An
    #: alias may belong to several types (``application/json``): it means the first one a
    #: route offers, and only where the route does not offer the alias itself.
    aliases: tuple[str, ...] = ()
    #: rdflib's serializer plugin name (``rdflib.plugin.get(name, Serializer)``), for
    #: graphs built with rdflib; ``None`` for what is not an RDF graph.
    rdflib_serializer: str | None = None

    @property
    def rdf_format(self) -> ox.RdfFormat | None:
        """The engine's RDF format for this type, if it is one."""
        return ox.RdfFormat.from_media_type(self.media_type)

    @property
    def results_format(self) -> ox.QueryResultsFormat | None:
        """The engine's SPARQL results format for this type, if it is one."""
        return ox.QueryResultsFormat.from_media_type(self.media_type)

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` to answer with: every type here is UTF-8 text."""
        return f"{self.media_type}; charset=utf-8"


#: Every offered type. Order matters only where a name or an alias is shared (above), and
#: for aliases a client ranks equally: the first listed here wins.
FORMATS: tuple[MediaFormat, ...] = (
    MediaFormat(HTML, ("html",), ".html", ("application/xhtml+xml",)),
    MediaFormat(JSON, ("json",), ".json"),
    MediaFormat(SPARQL_JSON, ("sparql-json", "json"), aliases=(JSON,)),
    MediaFormat(SPARQL_XML, ("xml",), aliases=("application/xml", "text/xml")),
    MediaFormat(CSV, ("csv",), ".csv"),
    MediaFormat(TSV, ("tsv",)),
    MediaFormat(N_TRIPLES, ("nt", "ntriples"), ".nt", ("text/plain",), "nt"),
    # Turtle is N3 as far as clients go (SPARQLWrapper sends format=n3 with its N3 format)
    MediaFormat(
        TURTLE,
        ("ttl", "turtle", "n3"),
        ".ttl",
        ("application/x-turtle", "text/n3", "text/rdf+n3"),
        "turtle",
    ),
    MediaFormat(JSON_LD, ("jsonld", "json-ld", "json"), ".jsonld", (JSON,), "json-ld"),
    MediaFormat(RDF_XML, ("rdf", "rdfxml", "xml"), ".rdf", ("application/xml", "text/xml"), "xml"),
    MediaFormat(TRIG, ("trig",), rdflib_serializer="trig"),
    MediaFormat(N_QUADS, ("nq", "nquads"), rdflib_serializer="nquads"),
)
BY_MEDIA_TYPE: dict[str, MediaFormat] = {f.media_type: f for f in FORMATS}
#: The URL suffixes, each naming one type.
BY_SUFFIX: dict[str, MediaFormat] = {f.suffix: f for f in FORMATS if f.suffix}


def media_format(media_type: str) -> MediaFormat:
    """The entry of ``media_type``.

    :raises KeyError: not a type whatworks answers with.
    """
    return BY_MEDIA_TYPE[media_type]


def serialize_graph(graph: Graph, media_type: str, **options: Any) -> bytes:
    """``graph`` written by rdflib in ``media_type`` (UTF-8); ``options`` go to the
    serializer (a JSON-LD ``context``, say).

    :raises KeyError: ``media_type`` is not an RDF type of :data:`FORMATS`.
    """
    name = media_format(media_type).rdflib_serializer
    if name is None:
        raise KeyError(f"{media_type} is not an RDF serialization")
    if media_type == N_QUADS and not graph.context_aware:
        # rdflib writes N-Quads only from a dataset; a graph's triples written as N-Triples
        # are already N-Quads, in the default graph
        name = "nt"
    data: bytes = graph.serialize(format=name, encoding="utf-8", **options)
    return data
