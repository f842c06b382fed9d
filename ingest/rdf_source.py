"""Reading evidence that is already RDF (Turtle, N-Triples, JSON-LD, RDF/XML), safely.

Parsing goes through Oxigraph's parsers, which never fetch anything: no remote JSON-LD
contexts, no owl:imports, no external XML entities. Documents with a DOCTYPE are refused
before parsing (no entity expansion at all, so no "billion laughs").
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from whatworks.errors import InputError, Problem
from whatworks.store import from_ox

#: Suffix → (Oxigraph format, media type).
RDF_SUFFIXES: dict[str, tuple[ox.RdfFormat, str]] = {
    ".ttl": (ox.RdfFormat.TURTLE, "text/turtle"),
    ".nt": (ox.RdfFormat.N_TRIPLES, "application/n-triples"),
    ".jsonld": (ox.RdfFormat.JSON_LD, "application/ld+json"),
    ".json-ld": (ox.RdfFormat.JSON_LD, "application/ld+json"),
    ".rdf": (ox.RdfFormat.RDF_XML, "application/rdf+xml"),
    ".owl": (ox.RdfFormat.RDF_XML, "application/rdf+xml"),
    ".xml": (ox.RdfFormat.RDF_XML, "application/rdf+xml"),
}


def read_rdf(path: Path, data: bytes) -> Graph:
    """Parse ``data`` (the bytes of ``path``) into a graph; quads' graph names are dropped.

    :raises InputError: unknown format, a DOCTYPE in RDF/XML, or a syntax error (with its
        line and column).
    """
    name = str(path)
    fmt, _ = RDF_SUFFIXES[path.suffix.lower()]
    if fmt is ox.RdfFormat.RDF_XML and b"<!DOCTYPE" in data[:4096].upper():
        raise InputError(
            [
                Problem(
                    name,
                    "refused: RDF/XML with a DOCTYPE (entity declarations are not "
                    "expanded, for safety); remove the DOCTYPE",
                )
            ]
        )
    if not data.strip():
        raise InputError([Problem(name, "the file is empty")])
    graph = Graph()
    try:
        for triple in ox.parse(data, fmt, base_iri=None):
            s, p, o = triple.subject, triple.predicate, triple.object
            graph.add((from_ox(s), from_ox(p), from_ox(o)))
    except SyntaxError as exc:
        row = getattr(exc, "lineno", None)
        raise InputError([Problem(name, f"RDF syntax error: {exc.msg}", row=row)]) from exc
    except (ValueError, OSError) as exc:
        raise InputError([Problem(name, f"cannot parse the file as RDF: {exc}")]) from exc
    return graph
