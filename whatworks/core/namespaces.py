"""The IRI bases whatworks mints, and the prefixes it writes.

Why these bases: docs/decisions/0001-persistent-namespace.md. Terms of the ontology
itself live in the generated :mod:`whatworks.core.vocab`.
"""

from __future__ import annotations

from rdflib import Namespace, URIRef

BASE = "https://w3id.org/whatworks/"
EMMIE_NS = Namespace(BASE + "emmie#")
ONTOLOGY = URIRef(BASE + "emmie")
ID = Namespace(BASE + "id/")
CONCEPT = Namespace(BASE + "concept/")
GRAPH = Namespace(BASE + "graph/")
SHAPES = Namespace(BASE + "shapes#")
SYNTHETIC = Namespace(BASE + "synthetic/")

FABIO = Namespace("http://purl.org/spar/fabio/")
CITO = Namespace("http://purl.org/spar/cito/")
OBO = Namespace("http://purl.obolibrary.org/obo/")
PICO = Namespace("http://data.cochrane.org/ontologies/pico/")
#: Standard properties written beside ours at ingest (docs/decisions/0016-...).
BIBO = Namespace("http://purl.org/ontology/bibo/")
SDMX_DIMENSION = Namespace("http://purl.org/linked-data/sdmx/2009/dimension#")

#: The graph that holds the dataset's own description (version, modification time).
META_GRAPH = URIRef(BASE + "graph/meta")
#: The node in META_GRAPH that describes the whole base.
DATASET = URIRef(BASE + "id/dataset")

PREFIXES: dict[str, str] = {
    "emmie": str(EMMIE_NS),
    "wwid": str(ID),
    "concept": str(CONCEPT),
    "graph": str(GRAPH),
    "shp": str(SHAPES),
    "obo": str(OBO),
    "fabio": str(FABIO),
    "cito": str(CITO),
    "pico": str(PICO),
    "prov": "http://www.w3.org/ns/prov#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "void": "http://rdfs.org/ns/void#",
    "wwfn": BASE + "fn#",
    "qb": "http://purl.org/linked-data/cube#",
    "bibo": str(BIBO),
    "sdmx-dimension": str(SDMX_DIMENSION),
}


def concept(scheme: str, code: str) -> URIRef:
    """The IRI of concept ``code`` in the SKOS scheme ``scheme``."""
    return URIRef(f"{CONCEPT}{scheme}/{code}")


#: Base of the IRIs minted for synthetic data (tests and benchmarks only).
SYNTHETIC_ID = Namespace(BASE + "synthetic/id/")


def resource(kind: str, key: str, *, base: str = str(ID)) -> URIRef:
    """The IRI of a record of ``kind`` (e.g. ``study``) with the coder's ``key``."""
    return URIRef(f"{base}{kind}/{key}")


def source_graph(name: str) -> URIRef:
    """The named graph that holds what the source called ``name`` contributed."""
    return URIRef(f"{GRAPH}{name}")


def provenance_graph(graph: URIRef) -> URIRef:
    """The named graph holding the provenance of ``graph``, stored beside it."""
    return URIRef(f"{graph}/provenance")


def sparql_prologue() -> str:
    """PREFIX lines for every prefix in :data:`PREFIXES`."""
    return "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())
