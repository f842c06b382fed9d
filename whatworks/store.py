"""Store access behind one small interface: the embedded default (Oxigraph on disk).

Everything else (ingest, validation, queries, the server) talks to a :class:`Store` and
never to an engine. A remote SPARQL store implements the same protocol.

Why Oxigraph: docs/decisions/0003-embedded-store.md. How a source's graphs are replaced
atomically: each is written to a staging graph first, then one SPARQL update moves every
staging graph onto its target and sets the dataset version. An update is one transaction
in Oxigraph, so a reader (or a process killed half-way) sees the old graphs or the new ones,
never a mixture; staging graphs left by a killed ingest are dropped when the store is next
opened for writing, and queries never see them.
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

STAGING_PREFIX = "urn:whatworks:staging:"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

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

    def query(self, sparql: str, *, substitutions: Mapping[str, Node] | None = None) -> QueryResult:
        """Run a SPARQL query over the union of all graphs.

        :raises StoreError: the query is malformed or the store failed.
        """

    def select(
        self, sparql: str, *, substitutions: Mapping[str, Node] | None = None
    ) -> list[dict[str, Node]]:
        """Run a SELECT query; each row maps the bound variables to rdflib terms.

        :raises StoreError: the query is malformed, not a SELECT, or the store failed.
        """

    def replace_graphs(self, graphs: Mapping[URIRef, Graph]) -> str:
        """Replace each named graph with the given content, all at once. Returns the new
        dataset version.

        :raises StoreError: nothing was changed.
        """

    def graph_names(self) -> list[URIRef]:
        """The named graphs holding data (not staging or bookkeeping graphs)."""

    def dataset_version(self) -> str | None:
        """An opaque string that changes whenever the data changes; None for an empty store."""

    def export(self, out: BinaryIO, *, format: str = "nquads") -> None:
        """Write every graph to ``out`` (see :data:`EXPORT_FORMATS`)."""

    def close(self) -> None: ...


class EmbeddedStore:
    """The default store: an Oxigraph database in a folder on disk."""

    def __init__(self, path: Path, *, read_only: bool = False):
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
        if not read_only:
            self._drop_staging()

    # -- reading ---------------------------------------------------------------------------

    def query(self, sparql: str, *, substitutions: Mapping[str, Node] | None = None) -> QueryResult:
        subs: dict[ox.Variable, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple] = {
            ox.Variable(k): to_ox(v) for k, v in (substitutions or {}).items()
        }
        staging = self._staging_graphs()
        try:
            if staging:
                live: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] = [
                    g
                    for g in self._store.named_graphs()
                    if isinstance(g, ox.NamedNode) and not g.value.startswith(STAGING_PREFIX)
                ]
                return self._store.query(
                    sparql,
                    default_graph=live,
                    named_graphs=[g for g in live if isinstance(g, ox.NamedNode)],
                    substitutions=subs or None,
                )
            return self._store.query(
                sparql, use_default_graph_as_union=True, substitutions=subs or None
            )
        except SyntaxError as exc:
            raise StoreError(f"malformed SPARQL query: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"the store failed to answer: {exc}") from exc

    def select(
        self, sparql: str, *, substitutions: Mapping[str, Node] | None = None
    ) -> list[dict[str, Node]]:
        result = self.query(sparql, substitutions=substitutions)
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
            if isinstance(g, ox.NamedNode)
            and not g.value.startswith(STAGING_PREFIX)
            and g.value != str(META_GRAPH)
        )

    def dataset_version(self) -> str | None:
        for quad in self._store.quads_for_pattern(
            ox.NamedNode(str(DATASET)),
            ox.NamedNode("http://www.w3.org/2002/07/owl#versionInfo"),
            None,
            ox.NamedNode(str(META_GRAPH)),
        ):
            return str(getattr(quad.object, "value", quad.object))
        return None

    def export(self, out: BinaryIO, *, format: str = "nquads") -> None:
        fmt = EXPORT_FORMATS[format]
        if fmt in (ox.RdfFormat.N_QUADS, ox.RdfFormat.TRIG):
            quads = (q for q in self._store if not _is_staging(q.graph_name))
            ox.serialize(quads, out, fmt)
        else:
            triples = (q.triple for q in self._store if not _is_staging(q.graph_name))
            ox.serialize(triples, out, fmt)

    def triples(self, graph: URIRef) -> Iterator[tuple[Node, Node, Node]]:
        """Every triple of one named graph, as rdflib terms."""
        for quad in self._store.quads_for_pattern(None, None, None, ox.NamedNode(str(graph))):
            yield from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object)

    # -- writing ---------------------------------------------------------------------------

    def replace_graphs(self, graphs: Mapping[URIRef, Graph]) -> str:
        if self.read_only:
            raise StoreError(f"the store at {self.location} is open read-only")
        run = uuid.uuid4().hex
        staging = {g: ox.NamedNode(f"{STAGING_PREFIX}{run}:{i}") for i, g in enumerate(graphs)}
        version = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S.%fZ')}-{run[:8]}"
        try:
            for target, content in graphs.items():
                self._store.bulk_extend(_quads(content, staging[target]))
            moves = " ;\n".join(
                f"DROP SILENT GRAPH <{target}> ; ADD SILENT GRAPH <{stage.value}> TO GRAPH "
                f"<{target}> ; DROP SILENT GRAPH <{stage.value}>"
                for target, stage in staging.items()
            )
            now = datetime.now(UTC).isoformat()
            self._store.update(
                f"{moves} ;\n"
                f"DELETE WHERE {{ GRAPH <{META_GRAPH}> {{ <{DATASET}> "
                f"<http://www.w3.org/2002/07/owl#versionInfo> ?v }} }} ;\n"
                f"DELETE WHERE {{ GRAPH <{META_GRAPH}> {{ <{DATASET}> "
                f"<http://purl.org/dc/terms/modified> ?m }} }} ;\n"
                f"INSERT DATA {{ GRAPH <{META_GRAPH}> {{ <{DATASET}> "
                f'<http://www.w3.org/2002/07/owl#versionInfo> "{version}" ; '
                f"<http://purl.org/dc/terms/modified> "
                f'"{now}"^^<http://www.w3.org/2001/XMLSchema#dateTime> }} }}'
            )
            self._store.flush()
        except OSError as exc:
            with contextlib.suppress(OSError):
                self._drop_staging()
            raise StoreError(f"could not write to the store at {self.location}: {exc}") from exc
        return version

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if not self.read_only:
                self._store.flush()
        del self._store

    def _staging_graphs(self) -> list[ox.NamedNode]:
        return [
            g for g in self._store.named_graphs() if _is_staging(g) and isinstance(g, ox.NamedNode)
        ]

    def _drop_staging(self) -> None:
        for graph in self._staging_graphs():
            self._store.remove_graph(graph)


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


def _is_staging(graph: object) -> bool:
    return isinstance(graph, ox.NamedNode) and graph.value.startswith(STAGING_PREFIX)


def _quads(graph: Graph, target: ox.NamedNode) -> Iterator[ox.Quad]:
    cache: dict[Node, ox.NamedNode | ox.BlankNode | ox.Literal] = {}
    for s, p, o in graph:
        yield ox.Quad(_cached(cache, s), _cached(cache, p), _cached(cache, o), target)  # type: ignore[arg-type]


def _cached(
    cache: dict[Node, ox.NamedNode | ox.BlankNode | ox.Literal], term: Node
) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, URIRef):
        found = cache.get(term)
        if found is None:
            found = cache[term] = ox.NamedNode(str(term))
        return found
    return to_ox(term)


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


def union_graph(store: EmbeddedStore, graphs: Iterable[URIRef] | None = None) -> Graph:
    """An in-memory rdflib graph of the given named graphs (default: all data graphs)."""
    result = Graph()
    for name in graphs if graphs is not None else store.graph_names():
        for triple in store.triples(name):
            result.add(triple)
    return result
