"""Store access behind one small interface: the embedded default (Oxigraph on disk).

Everything else (ingest, validation, queries, the server) talks to a :class:`Store` and
never to an engine. A remote SPARQL store implements the same protocol.

Why Oxigraph: docs/decisions/0003-embedded-store.md. How a source's graph is replaced
atomically: the new content is compared with what the graph holds, and ONE SPARQL update
deletes the triples that went, inserts the ones that came and sets the dataset version.
Oxigraph runs an update as one transaction, so a reader (or a process killed half-way)
sees the old graph or the new one, never a mixture, and re-ingesting a slightly changed
sheet writes only the change. (Deleting by ``DELETE DATA`` is also about four times faster
in Oxigraph than ``DROP GRAPH``.)
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from .errors import StoreError
from .namespaces import DATASET, META_GRAPH

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"
OWL_VERSION = "http://www.w3.org/2002/07/owl#versionInfo"
DCTERMS_MODIFIED = "http://purl.org/dc/terms/modified"
#: File in the store folder holding the dataset version, rewritten after every change.
VERSION_MARKER = "WHATWORKS_VERSION"

Triple = tuple[Node, Node, Node]

QueryResult = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples

#: Formats :meth:`Store.export` writes, by name.
EXPORT_FORMATS: dict[str, ox.RdfFormat] = {
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
}


class Store(Protocol):
    """What whatworks needs of a store of named graphs."""

    location: str

    def query(self, sparql: str, *, parameters: Mapping[str, Node] | None = None) -> QueryResult:
        """Run a SPARQL query over the union of all graphs.

        :raises StoreError: the query is malformed or the store failed.
        """

    def select(
        self, sparql: str, *, parameters: Mapping[str, Node] | None = None
    ) -> list[dict[str, Node]]:
        """Run a SELECT query; each row maps the bound variables to rdflib terms.

        :raises StoreError: the query is malformed, not a SELECT, or the store failed.
        """

    def replace_graphs(self, graphs: Mapping[URIRef, Iterable[Triple]]) -> str:
        """Replace each named graph with the given triples, all in one transaction. Returns
        the new dataset version.

        :raises StoreError: nothing was changed.
        """

    def graph_names(self) -> list[URIRef]:
        """The named graphs holding data (not the bookkeeping graph of the dataset)."""

    def dataset_version(self) -> str | None:
        """An opaque string that changes whenever the data changes; None for an empty store."""

    def triples(self, graph: URIRef) -> Iterator[Triple]:
        """Every triple of one named graph, as rdflib terms."""

    def export(self, out: BinaryIO, *, format: str = "nquads") -> None:
        """Write every graph to ``out`` (see :data:`EXPORT_FORMATS`)."""

    def close(self) -> None: ...


class EmbeddedStore:
    """The default store: an Oxigraph database in a folder on disk."""

    def __init__(self, path: Path, *, read_only: bool = False):
        self.path = path
        self.location = str(path)
        self.read_only = read_only
        try:
            if read_only:
                if not path.exists():
                    raise StoreError(
                        f"no store at {path}: load some evidence first (`whatworks load`)"
                    )
                self._store = ox.Store.read_only(str(path))
            else:
                path.mkdir(parents=True, exist_ok=True)
                self._store = ox.Store(str(path))
        except OSError as exc:
            raise StoreError(_explain_open_error(path, exc)) from exc

    # -- reading ---------------------------------------------------------------------------

    def query(self, sparql: str, *, parameters: Mapping[str, Node] | None = None) -> QueryResult:
        functions = parameter_functions(parameters or {})
        try:
            return self._store.query(
                sparql, use_default_graph_as_union=True, custom_functions=functions
            )
        except SyntaxError as exc:
            raise StoreError(f"malformed SPARQL query: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"the store failed to answer: {exc}") from exc

    def select(
        self, sparql: str, *, parameters: Mapping[str, Node] | None = None
    ) -> list[dict[str, Node]]:
        result = self.query(sparql, parameters=parameters)
        if not isinstance(result, ox.QuerySolutions):
            raise StoreError("expected a SELECT query")
        names = [v.value for v in result.variables]
        rows = []
        for solution in result:
            row = {}
            for name in names:
                term = solution[name]
                if term is not None:
                    row[name] = from_ox(term)
            rows.append(row)
        return rows

    def graph_names(self) -> list[URIRef]:
        return sorted(
            URIRef(g.value)
            for g in self._store.named_graphs()
            if isinstance(g, ox.NamedNode) and g.value != str(META_GRAPH)
        )

    def dataset_version(self) -> str | None:
        for quad in self._store.quads_for_pattern(
            ox.NamedNode(str(DATASET)),
            ox.NamedNode(OWL_VERSION),
            None,
            ox.NamedNode(str(META_GRAPH)),
        ):
            return str(getattr(quad.object, "value", quad.object))
        return None

    def export(self, out: BinaryIO, *, format: str = "nquads") -> None:
        fmt = EXPORT_FORMATS[format]
        if fmt in (ox.RdfFormat.N_QUADS, ox.RdfFormat.TRIG):
            ox.serialize(iter(self._store), out, fmt)
        else:
            ox.serialize((q.triple for q in self._store), out, fmt)

    def triples(self, graph: URIRef) -> Iterator[tuple[Node, Node, Node]]:
        """Every triple of one named graph, as rdflib terms."""
        for quad in self._store.quads_for_pattern(None, None, None, ox.NamedNode(str(graph))):
            yield from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object)

    # -- writing ---------------------------------------------------------------------------

    def replace_graphs(self, graphs: Mapping[URIRef, Iterable[Triple]]) -> str:
        if self.read_only:
            raise StoreError(f"the store at {self.location} is open read-only")
        version = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S.%fZ')}-{uuid.uuid4().hex[:8]}"
        now = datetime.now(UTC).isoformat()
        meta = f"<{META_GRAPH}>"
        parts = [
            f"DELETE WHERE {{ GRAPH {meta} {{ <{DATASET}> <{OWL_VERSION}> ?v }} }}",
            f"DELETE WHERE {{ GRAPH {meta} {{ <{DATASET}> <{DCTERMS_MODIFIED}> ?m }} }}",
            f'INSERT DATA {{ GRAPH {meta} {{ <{DATASET}> <{OWL_VERSION}> "{version}" ; '
            f'<{DCTERMS_MODIFIED}> "{now}"^^<{XSD_DATETIME}> }} }}',
        ]
        try:
            for target, content in graphs.items():
                graph = ox.NamedNode(str(target))
                new = {_statement(t) for t in content}
                old = {
                    f"{q.subject} {q.predicate} {q.object} ."
                    for q in self._store.quads_for_pattern(None, None, None, graph)
                }
                gone, came = old - new, new - old
                if gone:
                    parts.append(
                        f"DELETE DATA {{ GRAPH <{target}> {{\n" + "\n".join(sorted(gone)) + "\n} }"
                    )
                if came:
                    parts.append(
                        f"INSERT DATA {{ GRAPH <{target}> {{\n" + "\n".join(sorted(came)) + "\n} }"
                    )
            self._store.update(" ;\n".join(parts))
            self._store.flush()
            # Readers in other processes (the server's query workers) watch this file to
            # know when to reopen their read-only view.
            marker = self.path / VERSION_MARKER
            partial = marker.with_name(VERSION_MARKER + ".part")
            partial.write_text(version, encoding="utf-8")
            partial.replace(marker)
        except OSError as exc:
            raise StoreError(f"could not write to the store at {self.location}: {exc}") from exc
        except (SyntaxError, ValueError) as exc:
            raise StoreError(f"could not write to the store: {exc}") from exc
        return version

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if not self.read_only:
                self._store.flush()
        del self._store


def open_store(location: str | Path, *, read_only: bool = False) -> EmbeddedStore:
    """Open the store at ``location`` (a folder; created unless ``read_only``).

    :raises StoreError: the store cannot be opened (missing when read-only, locked by
        another process, or not an Oxigraph store).
    """
    return EmbeddedStore(Path(location).expanduser(), read_only=read_only)


def _explain_open_error(path: Path, exc: OSError) -> str:
    text = str(exc)
    if "lock" in text.lower():
        return (
            f"the store at {path} is in use by another whatworks process (a running "
            f"`whatworks serve` or ingest); stop it or use another --store"
        )
    return f"cannot open the store at {path}: {text}"


def _statement(triple: Triple) -> str:
    s, p, o = triple
    if isinstance(s, BNode) or isinstance(o, BNode):
        raise ValueError("blank nodes cannot be stored: skolemize them first")
    return f"{to_ox(s)} {to_ox(p)} {to_ox(o)} ."


#: The SPARQL function through which named queries read their parameters:
#: ``BIND(wwfn:param("outcome") AS ?outcome)`` binds ?outcome to the parameter's RDF term,
#: or leaves it unbound when the parameter was not given. Values are never pasted into text.
PARAM_FUNCTION = "https://w3id.org/whatworks/fn#param"


def parameter_functions(parameters: Mapping[str, Node]) -> dict[ox.NamedNode, Any]:
    """pyoxigraph ``custom_functions`` that expose ``parameters`` to a query."""
    terms = {name: to_ox(value) for name, value in parameters.items()}

    def param(name: object) -> Any:
        return terms.get(getattr(name, "value", ""))

    return {ox.NamedNode(PARAM_FUNCTION): param}


def to_ox(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An rdflib term as a pyoxigraph term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"cannot store {term!r}")


def from_ox(term: object) -> Any:
    """A pyoxigraph term as an rdflib term."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == _XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"unexpected term {term!r}")


def union_graph(store: Store, graphs: Iterable[URIRef] | None = None) -> Graph:
    """An in-memory rdflib graph of the given named graphs (default: all data graphs)."""
    result = Graph()
    for name in graphs if graphs is not None else store.graph_names():
        for triple in store.triples(name):
            result.add(triple)
    return result
