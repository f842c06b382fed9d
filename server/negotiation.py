"""Choosing a response format: the ``format`` parameter, else ``Accept`` (q-values and
wildcards), else a default. What cannot be served gets a 406 with the list of what can."""

from __future__ import annotations

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

#: Media types per result kind, in order of preference when the client does not mind.
RESULTS = (
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
)
BOOLEAN_RESULTS = RESULTS[:2]
GRAPHS = (
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/rdf+xml",
    "application/trig",
    "application/n-quads",
)

#: Short names accepted by the ``format`` parameter.
FORMAT_NAMES = {
    # "json" and "xml" mean the SPARQL results, or JSON-LD / RDF/XML for a graph (aliases)
    "json": "application/json",
    "xml": "application/xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "turtle": "text/turtle",
    "ttl": "text/turtle",
    "ntriples": "application/n-triples",
    "nt": "application/n-triples",
    "jsonld": "application/ld+json",
    "json-ld": "application/ld+json",
    "rdfxml": "application/rdf+xml",
    "rdf": "application/rdf+xml",
    "trig": "application/trig",
    "nquads": "application/n-quads",
    "nq": "application/n-quads",
    # Turtle is N3 (SPARQLWrapper sends format=n3 with its N3 return format)
    "n3": "text/turtle",
}

#: Common aliases clients send, and the type they mean per result kind.
ALIASES = {
    "application/json": ("application/sparql-results+json", "application/ld+json"),
    "application/xml": ("application/sparql-results+xml", "application/rdf+xml"),
    "text/xml": ("application/sparql-results+xml", "application/rdf+xml"),
    "text/plain": (None, "application/n-triples"),
    "application/x-turtle": (None, "text/turtle"),
    "text/n3": (None, "text/turtle"),
    "text/rdf+n3": (None, "text/turtle"),
}


class NotAcceptable(Exception):
    def __init__(self, offered: tuple[str, ...]):
        super().__init__(
            "none of the requested formats can be served; available: " + ", ".join(offered)
        )
        self.offered = offered


def choose(
    offered: tuple[str, ...], accept: MIMEAccept, format_param: str | None, *, graph: bool
) -> str:
    """The media type to answer with, among ``offered``.

    :raises NotAcceptable: the ``format`` or ``Accept`` asks only for what is not offered.
    """
    if format_param:
        name = format_param.strip().lower()
        if name in FORMAT_NAMES or "/" not in name:
            wanted = FORMAT_NAMES.get(name, name)
            wanted = _alias(wanted, graph) or wanted
            if wanted in offered:
                return wanted
            raise NotAcceptable(offered)
        # A media type, or a list of them as in Accept (SPARQLWrapper sends its Accept here).
        accept = parse_accept_header(name, MIMEAccept)
        if not accept:
            raise NotAcceptable(offered)
    elif not accept:
        return offered[0]
    candidates = list(offered) + [a for a in ALIASES if _alias(a, graph) in offered]
    best = accept.best_match(candidates)
    if best is None:
        raise NotAcceptable(offered)
    return _alias(best, graph) or best


def _alias(media: str, graph: bool) -> str | None:
    pair = ALIASES.get(media)
    if pair is None:
        return None
    return pair[1] if graph else pair[0]


def prefers_html(accept: MIMEAccept, over: tuple[str, ...] = ("application/json",)) -> bool:
    """Whether ``accept`` ranks HTML strictly above every type in ``over``: a browser's
    ``text/html, ..., */*;q=0.8`` does; ``*/*``, no ``Accept`` and ``application/json`` do
    not, so scripts keep the machine-readable answer."""
    html = accept.quality("text/html")
    return html > 0 and all(html > accept.quality(media) for media in over)


#: Every type (aliases included) that asks for RDF: what HTML must beat at ``/sparql``.
RDF_WANTED = GRAPHS + tuple(alias for alias, pair in ALIASES.items() if pair[1])
