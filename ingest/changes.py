"""How a source's graph differs from what the store holds: compared whole, or by row.

Compared whole (:func:`graph_change`), every stored statement of the graph is read and
every new triple spelled as the store spells it (:class:`Canonical`). Compared by row
(:func:`plan_rows`, :func:`row_change`, :func:`row_provenance_change`): the stored
provenance keeps a hash of each row's cells and the digest of what mapped them; an ingest
of the same file under the same digest maps only the rows whose hash changed (and the rows
added), and reads the stored statements of those rows' records alone; the provenance of
the other rows changes only in the file they are part of. The two give the same change
(docs/decisions/0018-re-ingest-by-row.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import pyoxigraph as ox
from rdflib import XSD, BNode, Literal, URIRef
from rdflib.namespace import DCTERMS
from rdflib.term import Node

from whatworks.core.catalogue import Given, internal
from whatworks.core.engine import from_ox, to_ox
from whatworks.core.namespaces import provenance_graph
from whatworks.core.store import Store, Triple

from .mapping import SUB_NODE_LINKS, Mapped, record_iri
from .provenance import (
    RowOrigin,
    SourceFile,
    build_provenance,
    row_hash,
    row_iri,
    row_position,
    row_provenance,
)
from .records import Record

#: Terms bound per query when asking about many IRIs at once.
CHUNK = 500


@dataclass
class Change:
    """How a source's graph differs from what the store holds: the triples that went and
    the triples that came (compared as the store spells them: see :class:`Canonical`)."""

    gone: list[Triple]
    came: list[Triple]
    #: the store held nothing in this graph
    new: bool

    def __bool__(self) -> bool:
        return bool(self.gone or self.came)

    def subjects(self) -> set[URIRef]:
        return {t[0] for t in (*self.gone, *self.came) if isinstance(t[0], URIRef)}


class Canonical:
    """Canonical N-Triples text of triples, as the store spells them.

    Oxigraph stores typed literals in canonical form (``"0.50"^^xsd:decimal`` comes back as
    ``"0.5"``, ``+00:00`` as ``Z``), so what a mapper built must be spelled the same way
    before it is compared with what is stored. Typed literals are canonicalised by passing
    them once through an in-memory Oxigraph store, and remembered.
    """

    def __init__(self) -> None:
        self._literals: dict[Literal, str] = {}

    def statements(self, triples: Iterable[Triple]) -> dict[str, Triple]:
        out: dict[str, Triple] = {}
        typed: list[Triple] = []
        cache = self._literals
        for triple in triples:
            s, p, o = triple
            if isinstance(s, BNode) or isinstance(o, BNode):
                raise ValueError("blank nodes cannot be stored: skolemize them first")
            if isinstance(o, Literal) and o.datatype is not None and o.datatype != XSD.string:
                text = cache.get(o)
                if text is None:
                    typed.append(triple)
                    continue
                out[f"<{s}> <{p}> {text} ."] = triple
            else:
                out[f"<{s}> <{p}> {to_ox(o)} ."] = triple
        if typed:
            self._learn({t[2] for t in typed})  # type: ignore[misc]
            for triple in typed:
                s, p, o = triple
                out[f"<{s}> <{p}> {cache[o]} ."] = triple  # type: ignore[index]
        return out

    def _learn(self, literals: set[Literal]) -> None:
        ordered = [lit for lit in literals if lit not in self._literals]
        memory = ox.Store()
        predicate = ox.NamedNode("urn:whatworks:canonical")
        memory.extend(
            ox.Quad(ox.NamedNode(f"urn:whatworks:{i}"), predicate, to_ox(lit))
            for i, lit in enumerate(ordered)
        )
        for quad in memory:
            index = int(quad.subject.value.rsplit(":", 1)[1])
            self._literals[ordered[index]] = str(quad.object)


def graph_change(
    store: Store, graph_iri: URIRef, triples: Iterable[Triple], canon: Canonical | None = None
) -> Change:
    """How ``triples`` differ from what the store holds in graph ``graph_iri``."""
    old = _stored_statements(store, graph_iri)
    if not old:  # a new graph: everything comes, nothing to compare
        return Change(gone=[], came=list(triples), new=True)
    new = (canon or Canonical()).statements(triples)
    gone = [text for text in old if text not in new]
    came = [t for text, t in new.items() if text not in old]
    return Change(gone=_parse_statements(gone), came=came, new=False)


def _stored_statements(store: Store, graph_iri: URIRef) -> set[str]:
    """The N-Triples statements of a stored graph (spelled as :class:`Canonical` does)."""
    method = getattr(store, "statements", None)
    if method is not None:  # the embedded store: Oxigraph spells them, faster
        return cast(set[str], method(graph_iri))
    prepared = internal("graph_triples").prepare({"graph": graph_iri})
    result = store.query(prepared.sparql(), parameters=prepared.parameters)
    assert isinstance(result, ox.QuerySolutions)
    return {f"{s} {p} {o} ." for s, p, o in result}


def _parse_statements(statements: Sequence[str]) -> list[Triple]:
    if not statements:
        return []
    quads = ox.parse("\n".join(statements), format=ox.RdfFormat.N_TRIPLES)
    return [(from_ox(q.subject), from_ox(q.predicate), from_ox(q.object)) for q in quads]


def _select(
    store: Store, query: str, terms: Mapping[str, Given] | None = None
) -> list[dict[str, Node]]:
    prepared = internal(query).prepare(terms)
    return store.select(prepared.sparql(), parameters=prepared.parameters)


def _solutions(store: Store, query: str, terms: Mapping[str, Given]) -> ox.QuerySolutions:
    """The engine's own solutions (read without turning every term into rdflib's)."""
    prepared = internal(query).prepare(terms)
    result = store.query(prepared.sparql(), parameters=prepared.parameters)
    assert isinstance(result, ox.QuerySolutions)
    return result


def subjects_change(
    store: Store,
    graph_iri: URIRef,
    subjects: Iterable[URIRef],
    triples: Iterable[Triple],
    canon: Canonical,
) -> Change:
    """How ``triples`` differ from the stored triples of ``subjects`` in graph ``graph_iri``
    (every subject of ``triples`` is one of ``subjects``): :func:`graph_change` for part of
    a graph."""
    old = _stored_subject_statements(store, graph_iri, subjects)
    new = canon.statements(triples)
    gone = [text for text in old if text not in new]
    came = [t for text, t in new.items() if text not in old]
    return Change(gone=_parse_statements(gone), came=came, new=False)


def _stored_subject_statements(
    store: Store, graph_iri: URIRef, subjects: Iterable[URIRef]
) -> set[str]:
    ordered = sorted(set(subjects))
    found: set[str] = set()
    for start in range(0, len(ordered), CHUNK):
        terms: dict[str, Given] = {"subjects": ordered[start : start + CHUNK], "graph": graph_iri}
        found.update(
            f"{s} {p} {o} ." for s, p, o in _solutions(store, "ingest_subject_triples", terms)
        )
    return found


@dataclass(frozen=True)
class StoredRows:
    """What the stored provenance of a graph says of its rows."""

    #: the mapping digest they were mapped under (:func:`~.provenance.mapping_digest`)
    digest: str
    #: the file and the ingest the stored provenance names
    file: URIRef
    activity: URIRef
    #: each stored record: the sheet, number and hash of its row
    rows: Mapping[URIRef, tuple[str, int, str]]


def stored_rows(store: Store, graph_iri: URIRef) -> StoredRows | None:
    """The stored rows of ``graph_iri``; None when its provenance has no mapping digest
    (a graph stored by an earlier whatworks, or from a source without rows)."""
    prov = provenance_graph(graph_iri)
    head = _select(store, "ingest_row_head", {"provenance": prov, "graph": graph_iri})
    if len(head) != 1:
        return None
    rows: dict[URIRef, tuple[str, int, str]] = {}
    terms: dict[str, Given] = {"provenance": prov}
    for subject, row, hashed in _solutions(store, "ingest_row_hashes", terms):
        iri = URIRef(subject.value)
        position = row_position(graph_iri, row.value)
        if iri in rows or position is None:  # not what an ingest writes
            return None
        rows[iri] = (*position, hashed.value)
    return StoredRows(
        str(head[0]["digest"]),
        cast(URIRef, head[0]["file"]),
        cast(URIRef, head[0]["activity"]),
        rows,
    )


@dataclass
class RowPlan:
    """Which rows of a source changed since its graph was stored (:func:`plan_rows`)."""

    stored: StoredRows
    #: each record with its IRI and row hash, in input order
    records: list[tuple[Record, URIRef, str]]
    #: the records to map and compare: their row's hash changed, or they are new
    changed: list[Record]
    #: stored records that no row gives now
    removed: list[URIRef]
    #: the records whose row's hash is as stored (their triples are as stored), by IRI
    kept: dict[URIRef, Record]


def plan_rows(
    records: Sequence[Record], stored: StoredRows | None, digest: str, *, base: str
) -> RowPlan | None:
    """Compare each record's row hash with the stored one; None when the rows cannot be
    compared (nothing stored by row, another mapping digest, no records)."""
    if stored is None or stored.digest != digest or not records:
        return None
    listed = [(r, record_iri(r, base), row_hash(r.raw)) for r in records]
    changed: list[Record] = []
    kept: dict[URIRef, Record] = {}
    for record, iri, hashed in listed:
        before = stored.rows.get(iri)
        if before is not None and before[2] == hashed:
            kept[iri] = record
        else:
            changed.append(record)
    now = {iri for _, iri, _ in listed}
    removed = [iri for iri in stored.rows if iri not in now]
    return RowPlan(stored, listed, changed, removed, kept)


def row_change(
    store: Store, graph_iri: URIRef, plan: RowPlan, mapped: Mapped, canon: Canonical
) -> Change:
    """How the graph changes: the mapped triples of the changed rows' records against the
    stored triples of those records and of the removed ones (each record with its
    sub-nodes, as stored and as mapped now)."""
    records = sorted({*(record_iri(r, mapped.base) for r in plan.changed), *plan.removed})
    subjects: set[URIRef] = set(records)
    for start in range(0, len(records), CHUNK):
        terms: dict[str, Given] = {
            "records": records[start : start + CHUNK],
            "links": list(SUB_NODE_LINKS),
            "graph": graph_iri,
        }
        subjects.update(
            URIRef(row[0].value) for row in _solutions(store, "ingest_record_nodes", terms)
        )
    subjects.update(s for s in mapped.graph.subjects(unique=True) if isinstance(s, URIRef))
    return subjects_change(store, graph_iri, subjects, mapped.graph, canon)


def row_provenance_change(
    store: Store,
    graph_iri: URIRef,
    file: SourceFile,
    plan: RowPlan,
    digest: str,
    canon: Canonical,
    *,
    started: datetime,
    ended: datetime,
) -> Change:
    """How the provenance graph of ``graph_iri`` changes: what :func:`graph_change` gives
    for the whole new provenance, reading the stored statements of the file, the ingest,
    the graph and the rows that changed, moved, came or went alone. Every other row stays
    as stored but for the file it is part of."""
    stored = plan.stored
    head = build_provenance(graph_iri, file, (), started=started, ended=ended, digest=digest)
    moved: list[RowOrigin] = []
    subjects: set[URIRef] = {t[0] for t in head} | {stored.file, stored.activity}
    staying: list[URIRef] = []
    for record, iri, hashed in plan.records:
        origin = RowOrigin(iri, record.sheet.name, record.row, hashed)
        before = stored.rows.get(iri)
        if before == (origin.sheet, origin.row, hashed):
            staying.append(row_iri(graph_iri, origin.sheet, record.row))
            continue
        moved.append(origin)
        subjects.add(iri)
        subjects.add(row_iri(graph_iri, origin.sheet, record.row))
        if before is not None:
            subjects.add(row_iri(graph_iri, before[0], before[1]))
    for iri in plan.removed:
        sheet, number, _ = stored.rows[iri]
        subjects.update((iri, row_iri(graph_iri, sheet, number)))
    triples = head + row_provenance(graph_iri, file.iri, moved)
    change = subjects_change(store, provenance_graph(graph_iri), subjects, triples, canon)
    if stored.file != file.iri:
        change.gone += [(row, DCTERMS.isPartOf, stored.file) for row in staying]
        change.came += [(row, DCTERMS.isPartOf, file.iri) for row in staying]
    return change
