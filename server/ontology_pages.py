"""``/ontology``: the EMMIE ontology. Browsers get a page of the site, rendered from the
shipped ``emmie.ttl`` with the project's templates (title, IRI, version, licence, a table of
contents, the namespaces, then classes, object properties, datatype properties and the
concept schemes, each scheme folded in a ``<details>``). The page depends only on the
ontology, so it is rendered once per ontology version (``owl:versionIRI``) and kept.
``Accept`` (or ``.ttl`` and the other suffixes, or ``?format=``) gets the ontology itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files

from flask import Blueprint, Response, render_template, request
from rdflib import OWL, RDF, RDFS, SKOS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS
from rdflib.term import Node

from whatworks.core.formats import HTML, TURTLE, media_format
from whatworks.core.namespaces import EMMIE_NS, ONTOLOGY, PREFIXES

from .negotiation import RESOURCE, choose, offers
from .page_data import ontology
from .resource_pages import RDF_TYPES, serialize
from .version_cache import VersionCache

blueprint = Blueprint("ontology", __name__)
#: The rendered page, for the one ontology version the process ships.
_PAGES = VersionCache(size=1)

#: The sections of terms, in page order: (anchor, heading, rdf:type).
SECTIONS = (
    ("classes", "Classes", OWL.Class),
    ("object-properties", "Object properties", OWL.ObjectProperty),
    ("datatype-properties", "Datatype properties", OWL.DatatypeProperty),
)


@dataclass
class Ref:
    """A link to a term: its short name, and an anchor on this page when it has one."""

    text: str
    href: str | None = None


@dataclass
class Term:
    anchor: str
    label: str
    iri: str
    short: str
    definition: str
    external: bool
    #: (heading, terms, the word between them): subclass of, domain, range
    notes: list[tuple[str, list[Ref], str]] = field(default_factory=list)


@dataclass
class Scheme:
    anchor: str
    label: str
    iri: str
    definition: str
    concepts: list[Term]


def _source() -> str:
    return files("whatworks.ontology").joinpath("emmie.ttl").read_text("utf-8")


def _short(iri: str) -> str:
    """``iri`` with the longest of the project's prefixes that it starts with, else itself."""
    best = max(
        ((p, ns) for p, ns in PREFIXES.items() if iri.startswith(ns)),
        key=lambda pair: len(pair[1]),
        default=None,
    )
    return f"{best[0]}:{iri[len(best[1]) :]}" if best else iri


def _anchor(iri: str) -> str:
    """The page's anchor of a term: its local name for the ontology's own terms, else its
    short name with ``-`` for ``:`` and ``/``."""
    if iri.startswith(str(EMMIE_NS)):
        return iri[len(str(EMMIE_NS)) :]
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in _short(iri))


def _text(graph: Graph, node: Node, *predicates: URIRef) -> str:
    """The English (or untagged) value of the first of ``predicates`` that ``node`` has."""
    for predicate in predicates:
        values = [v for v in graph.objects(node, predicate) if isinstance(v, Literal)]
        for value in sorted(values, key=lambda v: v.language not in ("en", None)):
            return str(value)
    return ""


class _Page:
    """Builds the page's model from the ontology graph."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.anchored: set[str] = set()
        for _, _, kind in SECTIONS:
            self.anchored.update(str(s) for s in graph.subjects(RDF.type, kind))
        self.anchored.update(str(s) for s in graph.subjects(RDF.type, SKOS.ConceptScheme))

    def ref(self, node: Node) -> list[Ref]:
        """A domain or range: a term (linked when on this page), or a union of terms."""
        if isinstance(node, URIRef):
            iri = str(node)
            href = "#" + _anchor(iri) if iri in self.anchored else None
            return [Ref(_short(iri), href)]
        members = self.graph.value(node, OWL.unionOf)
        if members is None:
            return []
        refs: list[Ref] = []
        for member in self.graph.items(members):
            refs.extend(self.ref(member))
        return refs

    def term(self, subject: URIRef) -> Term:
        g = self.graph
        iri = str(subject)
        defined_by = g.value(subject, RDFS.isDefinedBy)
        term = Term(
            anchor=_anchor(iri),
            label=_text(g, subject, SKOS.prefLabel, RDFS.label) or _short(iri),
            iri=iri,
            short=_short(iri),
            definition=_text(g, subject, SKOS.definition, RDFS.comment),
            external=defined_by is not None and defined_by != ONTOLOGY,
        )
        for heading, predicate in (
            ("subclass of", RDFS.subClassOf),
            ("domain", RDFS.domain),
            ("range", RDFS.range),
        ):
            objects = sorted(g.objects(subject, predicate), key=str)
            refs = [r for o in objects for r in self.ref(o)]
            if refs:
                union = any(not isinstance(o, URIRef) for o in objects)
                term.notes.append((heading, refs, " or " if union else ", "))
        return term

    def section(self, kind: URIRef) -> list[Term]:
        subjects = {s for s in self.graph.subjects(RDF.type, kind) if isinstance(s, URIRef)}
        terms = [self.term(s) for s in subjects]
        return sorted(terms, key=lambda t: (t.external, t.label.lower()))

    def schemes(self) -> list[Scheme]:
        g = self.graph
        out = []
        for scheme in g.subjects(RDF.type, SKOS.ConceptScheme):
            if not isinstance(scheme, URIRef):
                continue
            concepts = [
                self.term(c) for c in g.subjects(SKOS.inScheme, scheme) if isinstance(c, URIRef)
            ]
            for concept in concepts:
                concept.short = _text(g, URIRef(concept.iri), SKOS.notation) or concept.short
            out.append(
                Scheme(
                    anchor=_anchor(str(scheme)),
                    label=_text(g, scheme, SKOS.prefLabel, RDFS.label) or _short(str(scheme)),
                    iri=str(scheme),
                    definition=_text(g, scheme, SKOS.definition, RDFS.comment),
                    concepts=sorted(concepts, key=lambda c: c.short),
                )
            )
        return sorted(out, key=lambda s: s.label.lower())

    def model(self) -> dict[str, object]:
        g = self.graph
        licence = g.value(ONTOLOGY, DCTERMS.license)
        return {
            "title": _text(g, ONTOLOGY, DCTERMS.title, RDFS.label) or str(ONTOLOGY),
            "iri": str(ONTOLOGY),
            "description": _text(g, ONTOLOGY, DCTERMS.description, RDFS.comment),
            "version_iri": str(g.value(ONTOLOGY, OWL.versionIRI) or ""),
            "version_info": _text(g, ONTOLOGY, OWL.versionInfo),
            "licence": str(licence) if licence is not None else "",
            "creator": _text(g, ONTOLOGY, DCTERMS.creator),
            "modified": _text(g, ONTOLOGY, DCTERMS.modified),
            "namespaces": sorted(PREFIXES.items()),
            "sections": [(a, h, self.section(k)) for a, h, k in SECTIONS],
            "schemes": self.schemes(),
            "formats": [(media_format(m).suffix, m) for m in RDF_TYPES],
        }


def version(graph: Graph) -> str:
    """The ontology's version: its ``owl:versionIRI`` (else ``owl:versionInfo``)."""
    return str(graph.value(ONTOLOGY, OWL.versionIRI) or graph.value(ONTOLOGY, OWL.versionInfo))


def _documentation() -> str:
    graph = ontology()
    return _PAGES.get(
        version(graph),
        "page",
        lambda: render_template("ontology.html", **_Page(graph).model()),
    )


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
        return Response(_documentation(), mimetype=HTML, headers=headers)
    turtle = media == TURTLE
    body = _source().encode("utf-8") if turtle else serialize(ontology(), media)
    return Response(body, content_type=media_format(media).content_type, headers=headers)
