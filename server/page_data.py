"""What the pages read: queries run in the server's bounded worker pool, and the labels of
the ontology's terms.

Pages never open the store themselves: every read goes through the same worker processes
(and the same time and size limits) as ``/sparql`` and ``/api``. Queries are parameterised
with ``wwfn:param`` bindings, never by pasting values into their text.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from rdflib import RDFS, SKOS, Graph, Literal, URIRef
from rdflib.term import Node

from whatworks.core.catalogue import NamedQuery, envelope, plain_rows
from whatworks.core.namespaces import sparql_prologue
from whatworks.core.query_pool import BOOLEAN, GRAPH, SOLUTIONS, Job

from .execution import run_bounded
from .state import server_state

SPARQL_JSON = "application/sparql-results+json"
N_TRIPLES = "application/n-triples"


def _run(
    query: str, parameters: dict[str, Node], *, what: str, timeout: float | None = None
) -> bytes:
    settings = server_state().settings
    job = Job(
        sparql_prologue() + query,
        {SOLUTIONS: SPARQL_JSON, BOOLEAN: SPARQL_JSON, GRAPH: N_TRIPLES},
        max_bytes=settings.max_result_bytes,
        parameters=parameters,
    )
    body: bytes = run_bounded(job, what=f"the {what} query", timeout=timeout).body
    return body


def select(
    query: str,
    parameters: dict[str, Node] | None = None,
    *,
    what: str,
    timeout: float | None = None,
) -> list[dict[str, Any]]:
    """Rows of a SELECT query (without prefixes; the project's are added), as plain values.
    ``timeout`` replaces the server's ``query_timeout`` (the summary pages' own limit).

    :raises ApiError: busy (503), timeout (504), too large (422), engine failure (500).
    """
    return plain_rows(json.loads(_run(query, parameters or {}, what=what, timeout=timeout)))[1]


def construct(query: str, parameters: dict[str, Node] | None = None, *, what: str) -> Graph:
    """The graph a CONSTRUCT query builds, as an rdflib graph (small graphs only).

    :raises ApiError: as :func:`select`.
    """
    graph = Graph()
    graph.parse(data=_run(query, parameters or {}, what=what), format="nt")
    return graph


def run_catalogue(
    named: NamedQuery, given: dict[str, str], bindings: dict[str, Node]
) -> dict[str, Any]:
    """The envelope of a catalogue query, exactly as ``/api/queries/<name>`` returns it."""
    results = json.loads(_run(named.text, bindings, what=named.name))
    return envelope(named, given, dataset_version(), results)


def dataset_version() -> str:
    return server_state().store.current_version()


@cache
def ontology() -> Graph:
    """The shipped ontology (terms and concept schemes; it is not in the store)."""
    graph = Graph()
    graph.parse(
        data=files("whatworks.ontology").joinpath("emmie.ttl").read_text("utf-8"), format="turtle"
    )
    return graph


@cache
def labels() -> dict[str, str]:
    """English labels of the ontology's terms and concepts, by IRI."""
    out: dict[str, str] = {}
    graph = ontology()
    for predicate in (RDFS.label, SKOS.prefLabel):
        for subject, label in graph.subject_objects(predicate):
            wanted = isinstance(label, Literal) and label.language in (None, "en")
            if isinstance(subject, URIRef) and (wanted or str(subject) not in out):
                out[str(subject)] = str(label)
    return out


def label(iri: object) -> str:
    """The ontology's label of ``iri``, else its last path segment."""
    text = str(iri)
    return labels().get(text) or text.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def code(iri: object) -> str:
    """A concept's code: the last segment of its IRI."""
    return str(iri).rstrip("/").rsplit("/", 1)[-1]
