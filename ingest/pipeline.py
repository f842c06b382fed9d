"""The ingest pipeline: read → map → check references → validate → store, all or nothing.

Every problem in every file is collected before anything is reported, from all three
checks (the sheet rules, the references, the shapes) in one run; SHACL runs on what was
built before anything is written; and all the sources of one call are written in one
transaction, so the store holds either the previous version of every graph or the new one.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import ParamSpec, TypeVar

from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.graph import ReadOnlyGraphAggregate
from rdflib.term import Node

from whatworks.core.catalogue import Given, internal
from whatworks.core.config import VALIDATE_BATCH_TRIPLES
from whatworks.core.errors import InputError, Problem, ValidationFailed
from whatworks.core.namespaces import GRAPH, ID, provenance_graph, resource, source_graph
from whatworks.core.store import (
    GraphChange,
    Store,
    Triple,
    staging_copy,
    update_graphs_by_replacing,
)
from whatworks.core.validation import (
    Engine,
    ValidationReport,
    ValidationResult,
    class_checked_predicates,
    validate,
    validate_triples,
)
from whatworks.core.vocab import EMMIE

from .bibliography import read_bibtex, read_ris
from .changes import (
    Canonical,
    Change,
    RowPlan,
    graph_change,
    plan_rows,
    row_change,
    row_provenance_change,
    stored_rows,
)
from .coding_sheet import KEY_PATTERN, SHEETS_BY_NAME, Sheet
from .mapping import CellRef, Mapped, map_records, record_iri, references, work_doi
from .provenance import RowOrigin, SourceFile, build_provenance, mapping_digest, row_hash
from .rdf_source import RDF_SUFFIXES, read_rdf
from .records import Record, all_records, parse_sheet
from .tabular import RawSheet, read_csv, read_xlsx

P = ParamSpec("P")
R = TypeVar("R")

TABULAR_SUFFIXES = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BIB_SUFFIXES = {".ris": "application/x-research-info-systems", ".bib": "application/x-bibtex"}
SUPPORTED = sorted({*TABULAR_SUFFIXES, *BIB_SUFFIXES, *RDF_SUFFIXES})


@dataclass
class Source:
    """One input file, read and mapped, ready to be validated and stored."""

    path: Path
    graph_iri: URIRef
    file: SourceFile
    graph: Graph
    mapped: Mapped | None = None
    records: list[Record] = field(default_factory=list)
    #: the sheet and key of each row that broke the sheet rules (and so has no record):
    #: what refers to it is not reported again as a reference to nothing
    failed: list[tuple[Sheet, str]] = field(default_factory=list)
    #: set by :func:`prepare` when it compares the graph with the store
    change: Change | None = None
    #: the mapping digest of a file of rows (:func:`~.provenance.mapping_digest`)
    digest: str | None = None
    #: set when the file's rows are compared with the stored ones by hash: then
    #: :attr:`graph` and :attr:`mapped` hold the changed rows' records alone
    #: (docs/decisions/0018-re-ingest-by-row.md)
    plan: RowPlan | None = None
    #: the stored graph's size, read when the rows are compared by hash
    stored_size: int = 0

    def origins(self) -> list[RowOrigin]:
        if self.mapped is None:
            subjects = {s for s in self.graph.subjects(RDF.type, None) if isinstance(s, URIRef)}
            return [RowOrigin(s, "", None) for s in sorted(subjects)]
        return [RowOrigin(s, o.sheet.name, o.row, row_hash(o.raw)) for s, o in self.mapped.subjects]

    def triples(self) -> int:
        """How many triples the source's graph holds (once written)."""
        if self.plan is None or self.change is None:
            return len(self.graph)
        return self.stored_size - len(self.change.gone) + len(self.change.came)

    def complete(self) -> None:
        """Map every record, not only the changed rows' (:attr:`plan`)."""
        if self.plan is not None and self.mapped is not None:
            self.mapped = map_records(self.records, base=self.mapped.base)
            self.graph = self.mapped.graph
            self.plan = None
            self.change = None


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did."""

    graphs: tuple[URIRef, ...]
    records: int
    triples: int
    version: str | None
    warnings: tuple[Problem, ...]
    #: graphs (sources, provenance, derived) written, with how many triples removed/added
    written: tuple[tuple[URIRef, int, int], ...] = ()
    #: how the derived graph was brought up to date: "none", "partial" or "full"
    derived: str = "none"
    #: files with no records (a blank coding sheet): left out, their stored graphs kept
    empty: tuple[Path, ...] = ()
    #: the graphs compared with the store by row (only the rows whose hash changed were
    #: mapped and compared: docs/decisions/0018-re-ingest-by-row.md); the others whole
    by_row: tuple[URIRef, ...] = ()


def graph_name_for(path: Path) -> str:
    """The graph name of a file: its name without suffix, in lower case, safe for an IRI."""
    stem = path.name.rsplit(".", 1)[0] if path.suffix else path.name
    return re.sub(r"[^a-z0-9_.-]+", "-", stem.lower()).strip("-.") or "source"


def read_sources(
    paths: Sequence[Path],
    *,
    encoding: str | None = None,
    kind: str | None = None,
    graph: str | None = None,
    progress: bool = False,
    base: str = str(ID),
    collect: list[Problem] | None = None,
    rows_from: Store | None = None,
) -> list[Source]:
    """Read and map every file; raise one :class:`InputError` with every problem found.

    With ``rows_from``, a file of rows whose graph that store holds with row hashes maps
    only the rows whose hash changed (:attr:`Source.plan`).

    With ``collect``, the problems are added to it instead and the sources are returned
    with the records of the rows that keep the rules (a file that cannot be read at all
    is left out), so that the later checks can run on them: every fault in one pass.

    :raises InputError: any file could not be read or has rows that break the coding-sheet
        rules (without ``collect``); nothing is returned in that case.
    """
    if graph is not None and len(paths) != 1:
        raise InputError(
            [
                Problem(
                    ", ".join(map(str, paths)),
                    "--graph names one file's graph; give one file with it",
                )
            ]
        )
    sources: list[Source] = []
    problems: list[Problem] = []
    names: dict[URIRef, Path] = {}
    for path in paths:
        try:
            source, rows = _read_one(
                path,
                encoding=encoding,
                kind=kind,
                graph=graph,
                progress=progress,
                base=base,
                rows_from=rows_from,
            )
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        problems.extend(rows)
        if source.graph_iri in names:
            problems.append(
                Problem(
                    str(path),
                    f"both this file and {names[source.graph_iri]} "
                    f"would become graph <{source.graph_iri}>; rename one",
                )
            )
            continue
        names[source.graph_iri] = path
        sources.append(source)
    problems.extend(_duplicates_across(sources, base))
    if collect is not None:
        collect.extend(problems)
    elif problems:
        raise InputError(problems)
    return sources


def _read_one(
    path: Path,
    *,
    encoding: str | None,
    kind: str | None,
    graph: str | None,
    progress: bool,
    base: str,
    rows_from: Store | None = None,
) -> tuple[Source, list[Problem]]:
    """The file as a source, with the problems of its rows (those rows left out).

    :raises InputError: the file cannot be read at all.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise InputError(
            [
                Problem(
                    str(path),
                    "unsupported kind of file",
                    found=path.suffix or path.name,
                    expected="one of " + ", ".join(SUPPORTED),
                )
            ]
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError([Problem(str(path), "no such file")]) from exc
    except OSError as exc:
        raise InputError([Problem(str(path), f"cannot read the file: {exc.strerror}")]) from exc
    media = {**TABULAR_SUFFIXES, **BIB_SUFFIXES}.get(suffix) or RDF_SUFFIXES[suffix][1]
    file = SourceFile(path.name, media, len(data), hashlib.sha256(data).hexdigest(), base)
    graph_iri = source_graph(graph or graph_name_for(path))
    if suffix in RDF_SUFFIXES:
        return Source(path, graph_iri, file, skolemized(read_rdf(path, data), graph_iri)), []
    raw: list[RawSheet]
    if suffix == ".csv":
        raw = [read_csv(path, kind=kind, encoding=encoding)]
    elif suffix == ".xlsx":
        raw = read_xlsx(path)
    else:
        text = _bib_text(path, data, encoding)
        raw = [read_ris(path, text) if suffix == ".ris" else read_bibtex(path, text)]
    records, problems = all_records(parse_sheet(r, progress=progress) for r in raw)
    digest = mapping_digest(base, [(f"{r.sheet.name}:{r.sheet_label}", r.header) for r in raw])
    plan = None
    if rows_from is not None and not problems:
        plan = plan_rows(records, stored_rows(rows_from, graph_iri), digest, base=base)
    mapped = map_records(records if plan is None else plan.changed, base=base)
    source = Source(path, graph_iri, file, mapped.graph, mapped, records, digest=digest, plan=plan)
    if problems:
        source.failed = _failed_keys(raw, problems)
    return source, problems


_KEY = re.compile(KEY_PATTERN)


def _failed_keys(raw: Sequence[RawSheet], problems: Sequence[Problem]) -> list[tuple[Sheet, str]]:
    """The sheet and key of every row that a problem left without a record (every row of a
    sheet whose header is wrong)."""
    failed: list[tuple[Sheet, str]] = []
    for sheet in raw:
        rows = {p.row for p in problems if p.file == sheet.file and p.sheet == sheet.sheet_label}
        if "key" not in sheet.header or not rows:
            continue
        position = sheet.header.index("key")
        for number, cells in sheet.rows:
            if (1 in rows or number in rows) and position < len(cells):
                key = cells[position].strip()
                if _KEY.match(key):
                    failed.append((sheet.sheet, key))
    return failed


def skolemized(graph: Graph, graph_iri: URIRef) -> Graph:
    """``graph`` with every blank node replaced by an IRI under ``{graph_iri}/genid/``.

    Blank nodes are first labelled canonically, so the same input always gets the same IRIs.
    """
    if not any(isinstance(t, BNode) for triple in graph for t in triple):
        return graph
    canonical = to_canonical_graph(graph)
    result = Graph()
    for triple in canonical:
        result.add(
            tuple(URIRef(f"{graph_iri}/genid/{t}") if isinstance(t, BNode) else t for t in triple)  # type: ignore[arg-type]
        )
    return result


def _bib_text(path: Path, data: bytes, encoding: str | None) -> str:
    try:
        return data.decode(encoding or "utf-8-sig")
    except (UnicodeDecodeError, LookupError, ValueError) as exc:  # ValueError: odd codecs
        raise InputError(
            [
                Problem(
                    str(path),
                    f"the file is not valid {encoding or 'UTF-8'} text; "
                    "pass --encoding if it is in another",
                )
            ]
        ) from exc


def _duplicates_across(sources: Sequence[Source], base: str) -> list[Problem]:
    """Keys that two files of the batch define. The later row is reported and left out,
    as a row that broke the sheet rules is (the shapes would otherwise see one record with
    the cells of both rows, and report the same fault again)."""
    first: dict[URIRef, Record] = {}
    problems = []
    for source in sources:
        later: list[Record] = []
        for record in source.records:
            iri = record_iri(record, base)
            if extends(record):
                continue  # check_against_store checks that what it extends exists
            if iri in first:
                other = first[iri]
                problems.append(
                    record.problem(
                        f"key {record.key!r} is also defined in {other.file} (row {other.row})"
                        + _extends_hint(record),
                        column="key",
                        found=record.key,
                    )
                )
                later.append(record)
            else:
                first[iri] = record
        if later:
            left_out = {id(record) for record in later}
            source.records = [r for r in source.records if id(r) not in left_out]
            source.mapped = map_records(source.records, base=base)
            source.graph = source.mapped.graph
            source.plan = None
            source.failed += [(record.sheet, record.key) for record in later]
    return problems


def _extends_hint(record: Record) -> str:
    if "extends" not in {c.name for c in record.sheet.columns}:
        return ""
    return "; write yes in column extends if this row adds to that record"


def extends(record: Record) -> bool:
    """Whether ``record``'s row says it adds to a record of its key that another source
    file defines (the ``extends`` column)."""
    return record.values.get("extends") is True


def check_against_store(
    sources: Sequence[Source], store: Store | None
) -> tuple[list[Problem], Graph]:
    """Check references and duplicate keys against the batch and the store.

    A key that a graph outside this batch already uses is refused, naming both files,
    unless the row says it ``extends`` that record; a row that extends needs a record to
    extend. A reference to a row that broke the sheet rules (:attr:`Source.failed`) is not
    reported again.

    Returns the problems and a *context* graph: the rdf:type of every IRI the batch links
    to that is defined in the store, outside the graphs this batch replaces; the class of
    each failed row's record; and the stored triples of each record a row extends, so that
    the shapes see the record whole.
    """
    replaced = {s.graph_iri for s in sources}
    defined: dict[URIRef, Record] = {}
    extending: dict[URIRef, list[Record]] = {}
    base = str(ID)
    for source in sources:
        base = source.file.base
        for record in source.records:
            iri = record_iri(record, base)
            if extends(record):
                extending.setdefault(iri, []).append(record)
            else:
                defined[iri] = record
    failed = {
        resource(sheet.kind, key, base=base): sheet
        for source in sources
        for sheet, key in source.failed
    }
    # Every record is typed in its graph: a source whose unchanged rows were not mapped
    # (Source.plan) adds their records, and what they refer to.
    batch_subjects: set[Node] = {*defined, *extending}
    for source in sources:
        batch_subjects.update(source.graph.subjects(RDF.type, None))
    linked: set[URIRef] = set()
    for source in sources:
        for obj in source.graph.objects():
            if isinstance(obj, URIRef) and obj not in batch_subjects:
                linked.add(obj)
        for record in source.plan.kept.values() if source.plan is not None else ():
            linked.update(iri for iri in references(record, base=base) if iri not in batch_subjects)
    context = Graph()
    elsewhere: dict[URIRef, URIRef] = {}
    if store is not None:
        asked = sorted(linked | set(defined) | set(extending))
        for iri, cls, graph in _types_in_store(store, asked, replaced):
            if iri in linked:
                context.add((iri, RDF.type, cls))
            if iri in defined or iri in extending:
                elsewhere.setdefault(iri, graph)
    problems: list[Problem] = []
    clashes = {iri: graph for iri, graph in elsewhere.items() if iri in defined}
    files = _stored_files(store, clashes) if store is not None and clashes else {}
    for iri, graph in clashes.items():
        record = defined[iri]
        problems.append(
            record.problem(
                f"key {record.key!r} is already used by {files.get(iri, 'another file')} "
                f"in graph <{graph}>; keys are unique across the store{_extends_hint(record)}",
                column="key",
                found=record.key,
            )
        )
    for iri, records in extending.items():
        if iri in elsewhere or iri in defined:
            continue
        for record in records:
            problems.append(
                record.problem(
                    f"nothing to extend: no {record.sheet.kind} with this key in other "
                    "files or in the store",
                    column="extends",
                    found=record.raw.get("extends") or None,
                    expected=f"no, or the key of a {record.sheet.kind} another file defines",
                )
            )
    stored = sorted(iri for iri in extending if iri in elsewhere)
    if store is not None and stored:
        for start in range(0, len(stored), 500):
            terms = {"iris": stored[start : start + 500], "outside": sorted(replaced)}
            for row in _select(store, "ingest_record_triples", terms):
                context.add((row["s"], row["p"], row["o"]))
    for iri, sheet in failed.items():
        context.add((iri, RDF.type, EMMIE[sheet.rdf_class]))
    known = set(defined) | set(extending) | set(failed) | set(context.subjects(RDF.type, None))
    for source in sources:
        for record in source.records:
            for col in record.sheet.reference_columns:
                if col.name not in record.values:
                    continue
                value = record.values[col.name]
                target = SHEETS_BY_NAME[col.target]
                for key in value if isinstance(value, tuple) else (value,):
                    iri = resource(target.kind, str(key), base=base)
                    if iri not in known:
                        # Reported here; typed for the shapes, so that their class check
                        # does not report the same fault again.
                        context.add((iri, RDF.type, EMMIE[target.rdf_class]))
                        problems.append(
                            record.problem(
                                f"no {target.kind} with this key in these files or in the store",
                                column=col.name,
                                found=str(key),
                                expected=f"a key of the {target.name} sheet",
                            )
                        )
    return problems, context


def _stored_files(store: Store, records: Mapping[URIRef, URIRef]) -> dict[URIRef, str]:
    """For each record IRI, the stored source file (and row) it came from in its graph."""
    terms = {"iris": sorted(records), "graphs": sorted(set(records.values()))}
    found: dict[URIRef, str] = {}
    for row in _select(store, "ingest_record_files", terms):
        iri = URIRef(str(row["s"]))
        if records.get(iri) != URIRef(str(row["g"])):
            continue
        where = str(row["name"])
        if row.get("n") is not None:
            where += f" (row {row['n']})"
        found[iri] = where
    return found


def duplicate_works(sources: Sequence[Source], store: Store | None) -> list[Problem]:
    """Works that give a DOI another work gives, in the batch or in the store outside the
    graphs the batch replaces: most often one work coded under two keys, which would then
    be counted twice. Each is reported at the later work, naming both keys and the DOI.
    (A warning: one work may report two studies; ``--strict`` makes it an error.)"""
    first: dict[str, tuple[Source, URIRef]] = {}
    problems: list[Problem] = []
    given: dict[tuple[int, URIRef], list[Node]] = {}
    for source in sources:
        for work, doi in _dois(source):
            given.setdefault((id(source), work), []).append(doi)
            folded = str(doi).lower()
            if folded not in first:
                first[folded] = (source, work)
                continue
            other, other_work = first[folded]
            where = _where(other, other_work)
            problems.append(_doi_problem(source, work, str(doi), where))
    if store is None or not first:
        return problems
    # Looked up as spelt, in lower and in upper case (a DOI is case-insensitive): an exact
    # match uses the store's index, where comparing every stored DOI folded does not.
    spellings: dict[str, str] = {}
    for folded, (source, work) in first.items():
        for doi in given[id(source), work]:
            for spelling in (str(doi), folded, folded.upper()):
                spellings[spelling] = folded
    outside = sorted(s.graph_iri for s in sources)
    ordered = sorted(spellings)
    for start in range(0, len(ordered), 500):
        terms: dict[str, Given] = {
            "dois": [Literal(doi) for doi in ordered[start : start + 500]],
            "outside": outside,
        }
        for row in _select(store, "ingest_works_with_doi", terms):
            source, work = first[spellings[str(row["doi"])]]
            if row["work"] == work:
                continue
            key = row.get("key")
            name = f"study {str(key)!r}" if key is not None else f"<{row['work']}>"
            where = f"{name} in graph <{row['g']}>"
            problems.append(_doi_problem(source, work, str(row["doi"]), where))
    return problems


def _dois(source: Source) -> list[tuple[URIRef, Node]]:
    """Each work of ``source`` with its ``emmie:doi``, in order: the unchanged rows' too
    when only the changed ones were mapped (:attr:`Source.plan`)."""
    pairs: set[tuple[URIRef, Node]] = {
        (work, doi)
        for work, doi in source.graph.subject_objects(EMMIE.doi)
        if isinstance(work, URIRef)
    }
    for record in source.plan.kept.values() if source.plan is not None else ():
        pair = work_doi(record, base=source.file.base)
        if pair is not None:
            pairs.add(pair)
    return sorted(pairs)


def _origin(source: Source, work: URIRef) -> CellRef | Record | None:
    """The row a work came from (the record of an unchanged row not mapped: the same file,
    sheet, row and cells)."""
    origin = source.mapped.origins.get(work) if source.mapped is not None else None
    if origin is None and source.plan is not None:
        for record in source.plan.kept.values():
            pair = work_doi(record, base=source.file.base)
            if pair is not None and pair[0] == work:
                return record
    return origin


def _where(source: Source, work: URIRef) -> str:
    origin = _origin(source, work)
    if origin is None:
        return f"<{work}> in {source.path}"
    return f"study {origin.raw.get('key')!r} ({origin.file}, row {origin.row})"


def _doi_problem(source: Source, work: URIRef, doi: str, other: str) -> Problem:
    origin = _origin(source, work)
    text = f"DOI {doi} is also the DOI of {other}: one work coded under two keys counts twice"
    if origin is None:
        return Problem(str(source.path), f"<{work}>: {text}", found=doi)
    return Problem(
        origin.file,
        f"study {origin.raw.get('key')!r}: {text}",
        sheet=origin.sheet_label,
        row=origin.row,
        column="doi",
        found=origin.raw.get("doi") or doi,
    )


def _select(
    store: Store, query: str, terms: Mapping[str, Given] | None = None
) -> list[dict[str, Node]]:
    """Rows of the internal query ``query`` for ``terms``."""
    prepared = internal(query).prepare(terms)
    return store.select(prepared.sparql(), parameters=prepared.parameters)


def _types_in_store(
    store: Store, iris: list[URIRef], outside: Iterable[URIRef]
) -> Iterable[tuple[URIRef, URIRef, URIRef]]:
    """(IRI, class, graph) of each of ``iris`` typed in the store, in graphs other than
    ``outside``. (Filtered by the store: reading the rows is most of the cost.)"""
    excluded = sorted(outside)
    for start in range(0, len(iris), 500):
        chunk = iris[start : start + 500]
        terms = {"iris": chunk, "outside": excluded}
        for row in _select(store, "ingest_types_in_store", terms):
            yield row["s"], row["c"], row["g"]  # type: ignore[misc]


def validate_sources(
    sources: Sequence[Source], context: Graph, engine: Engine = "compiled"
) -> tuple[list[Problem], list[Problem]]:
    """Run the SHACL shapes over the batch; return (violations, warnings) located in cells.

    A source whose :attr:`Source.change` is known (see :func:`prepare`) is validated only
    where it changed: the whole records (each record's node and sub-nodes) that have a
    triple added or removed, with the ``rdf:type`` of everything they link to. The shapes
    look no further than that (a record's own triples, its sub-nodes', and the class of
    what it links to: ``shapes/README.md``), so the results for those records are the ones
    validating the whole batch gives, and the other records are as they were stored.
    Sources without rows (RDF files, statistics) are always validated whole.
    """
    if len(sources) == 1 and _whole(sources[0]):
        # No copy: validate() reads the source's graph in place.
        return locate(validate(sources[0].graph, context=context, engine=engine), sources)
    # Several sources are validated as one graph. (Each on its own, with the class of what
    # it links to in the others, avoids copying them, but costs more than it saves:
    # measured at 100k triples, pySHACL took 8.6 s CPU in 8 calls against 5.1 s in one,
    # the copy 1.6 s, because the linked nodes become focus nodes of every call.) The
    # compiled shapes read the triples once: whole sources are given to them as a view of
    # the sources' graphs, not copied (pySHACL needs one graph of its own).
    if engine == "compiled" and sources and all(_whole(source) for source in sources):
        view = ReadOnlyGraphAggregate([source.graph for source in sources])
        return locate(validate(view, context=context, engine=engine), sources)
    data = Graph()
    for source in sources:
        if _whole(source):
            data += source.graph
        else:
            _add_changed_records(data, source)
    if all(_whole(source) for source in sources):
        return locate(validate(data, context=context, engine=engine), sources)
    if not len(data):
        return [], []
    # The class of what the records validated link to (from the batch or the store): all
    # the shapes need of other records; and the stored part of a record a row extends.
    extra = _link_types(data, (context, *(source.graph for source in sources)))
    for subject in set(data.subjects(unique=True)):
        for triple in context.triples((subject, None, None)):
            extra.add(triple)
    # Not focus_nodes=: pySHACL 0.40 then also limits the nodes that nested shapes (sh:not)
    # check, and reports values as violations (WW-FIND-009 on every direction).
    return locate(validate(data, context=extra, engine=engine), sources)


def _link_types(data: Graph, graphs: Iterable[Graph]) -> Graph:
    """The ``rdf:type`` triples, in ``graphs``, of the IRIs that ``data`` links to."""
    linked = {o for o in data.objects(unique=True) if isinstance(o, URIRef)}
    types = Graph()
    for graph in graphs:
        for node in linked:
            for cls in graph.objects(node, RDF.type):
                types.add((node, RDF.type, cls))
    return types


def _whole(source: Source) -> bool:
    return source.change is None or source.change.new or source.mapped is None


def _add_changed_records(data: Graph, source: Source) -> None:
    assert source.change is not None and source.mapped is not None
    origins = source.mapped.origins
    rows = {
        (origins[s].sheet.name, origins[s].row) for s in source.change.subjects() if s in origins
    }
    nodes = {s for s, o in origins.items() if (o.sheet.name, o.row) in rows}
    # Subjects that went with no record left (a removed row) have nothing to validate.
    for node in nodes:
        for triple in source.graph.triples((node, None, None)):
            data.add(triple)


def locate(
    report: ValidationReport, sources: Sequence[Source]
) -> tuple[list[Problem], list[Problem]]:
    """Turn SHACL results into problems pointing at the file, sheet, row and column."""
    violations: list[Problem] = []
    warnings: list[Problem] = []
    for result in report.results:
        problem = _locate_one(result, sources)
        (violations if result.severity == "Violation" else warnings).append(problem)
    return violations, warnings


def _locate_one(result: ValidationResult, sources: Sequence[Source]) -> Problem:
    focus = URIRef(str(result.focus_node))
    for source in sources:
        if source.mapped is not None and focus in source.mapped.origins:
            origin = source.mapped.origins[focus]
            col = source.mapped.column_for(focus, result.path)
            found = origin.raw.get(col.name) if col is not None else None
            return Problem(
                origin.file,
                result.message,
                sheet=origin.sheet_label,
                row=origin.row,
                column=col.name if col else "",
                found=found or None,
                shape_id=result.shape_id,
            )
        if source.mapped is None and (focus, None, None) in source.graph:
            value = f"{focus} {result.path or ''} {result.value or ''}".strip()
            return Problem(str(source.path), result.message, found=value, shape_id=result.shape_id)
    return Problem("", result.message, found=str(focus), shape_id=result.shape_id)


def prepare(
    paths: Sequence[Path],
    store: Store | None,
    *,
    encoding: str | None = None,
    kind: str | None = None,
    graph: str | None = None,
    progress: bool = False,
    base: str = str(ID),
    extra: Sequence[Source] = (),
    incremental: bool = False,
    strict: bool = False,
    engine: Engine = "compiled",
) -> tuple[list[Source], list[Problem]]:
    """Read, map, check and validate; return the sources and the warnings (SHACL warnings,
    and works that give the same DOI: :func:`duplicate_works`).

    Every fault is found in one pass: the rows that break the sheet rules are left out and
    the rest go on to the reference checks and the shapes, so that a sheet's problems are
    all reported at once, ordered by file, sheet, row and column. (A row left out is not
    validated, and what refers to it is not reported as referring to nothing: one fault,
    one problem: docs/decisions/0017-every-fault-in-one-pass.md.) With ``strict``, warnings
    are problems too. ``engine`` runs the shapes (:func:`whatworks.core.validation.validate`).

    ``extra`` are sources already built by another reader (e.g. the local-authority
    statistics, :mod:`whatworks.ingest.la_statistics`): checked, validated and returned
    with the files read here.

    ``incremental`` (what an ingest does): compare each source's graph with the stored one
    (:attr:`Source.change`) and validate only the records that changed; warnings then
    concern those records only. Without it every record is validated.

    :raises InputError: unreadable files, rows breaking the sheet rules, unknown references
        or duplicate keys (with the SHACL violations of the rest, if any).
    :raises ValidationFailed: SHACL violations, and nothing else wrong.
    """
    # What is read is kept to the end: the cyclic collector is kept off it (off while it
    # grows, then frozen); ingest() unfreezes. Why: docs/decisions/0010-gc-freeze.md.
    collecting = gc.isenabled()
    gc.disable()
    problems: list[Problem] = []
    try:
        sources = read_sources(
            paths,
            encoding=encoding,
            kind=kind,
            graph=graph,
            progress=progress,
            base=base,
            collect=problems,
            rows_from=store if incremental else None,
        )
    finally:
        gc.freeze()
        if collecting:
            gc.enable()
    try:
        return _check(sources, extra, store, incremental, problems, strict, engine)
    finally:
        if not incremental:
            gc.unfreeze()


def _check(
    sources: list[Source],
    extra: Sequence[Source],
    store: Store | None,
    incremental: bool,
    problems: list[Problem],
    strict: bool,
    engine: Engine = "compiled",
) -> tuple[list[Source], list[Problem]]:
    sources += extra
    found, context = check_against_store(sources, store)
    if (problems or found) and any(source.plan is not None for source in sources):
        # Nothing will be written: every record is validated, as when read whole.
        for source in sources:
            source.complete()
        found, context = check_against_store(sources, store)
    problems += found
    # A row that extends nothing is not validated: what it lacks is the record it meant
    # to extend, reported already.
    left_out = {(p.file, p.sheet, p.row) for p in found if p.column == "extends"}
    doubles = duplicate_works(sources, store)
    if incremental and store is not None and not problems:
        # (With problems already found nothing is written: validate everything that read.)
        canon = Canonical()
        for source in sources:
            if source.plan is not None and source.mapped is not None:
                source.change = row_change(
                    store, source.graph_iri, source.plan, source.mapped, canon
                )
                source.stored_size = _size(store, source.graph_iri)
            else:
                source.change = graph_change(store, source.graph_iri, source.graph, canon)
        context += _kept_types(store, sources)
    violations, warnings = validate_sources(sources, context, engine)
    problems += [v for v in violations if (v.file, v.sheet, v.row) not in left_out]
    warnings = sorted([*doubles, *warnings], key=_order)
    if strict:
        problems += warnings
        warnings = []
    if problems:
        problems.sort(key=_order)
        if all(p.shape_id for p in problems):
            raise ValidationFailed(problems)
        raise InputError(problems)
    return sources, warnings


def _kept_types(store: Store, sources: Sequence[Source]) -> Graph:
    """The stored ``rdf:type`` of each record of an unchanged row (not mapped: see
    :attr:`Source.plan`) that the batch's graphs link to: what the shapes read of it, and
    what its graph would give them had it been mapped."""
    kept = {iri: s.graph_iri for s in sources if s.plan is not None for iri in s.plan.kept}
    types = Graph()
    if not kept:
        return types
    linked: dict[URIRef, set[URIRef]] = {}
    for source in sources:
        for obj in source.graph.objects(unique=True):
            if isinstance(obj, URIRef) and obj in kept:
                linked.setdefault(kept[obj], set()).add(obj)
    for graph_iri, iris in linked.items():
        ordered = sorted(iris)
        for start in range(0, len(ordered), 500):
            terms: dict[str, Given] = {
                "subjects": ordered[start : start + 500],
                "graph": graph_iri,
            }
            for row in _select(store, "ingest_subject_triples", terms):
                if row["p"] == RDF.type:
                    types.add((row["s"], RDF.type, row["o"]))
    return types


def _order(problem: Problem) -> tuple[bool, str, str, int, str, str]:
    """Problems in reading order: file, sheet, row, column (unlocated ones last)."""
    row = -1 if problem.row is None else problem.row
    return (not problem.file, problem.file, problem.sheet, row, problem.column, problem.message)


def _unfreezing_after(function: Callable[P, R]) -> Callable[P, R]:
    """``function``, with the objects :func:`prepare` froze (``gc.freeze``) unfrozen after
    it, however it ends."""

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        finally:
            gc.unfreeze()

    return run


@_unfreezing_after
def ingest(
    paths: Sequence[Path],
    store: Store,
    *,
    encoding: str | None = None,
    kind: str | None = None,
    graph: str | None = None,
    progress: bool = False,
    base: str = str(ID),
    extra: Sequence[Source] = (),
    strict: bool = False,
    engine: Engine = "compiled",
) -> IngestReport:
    """Ingest files into ``store``: each becomes one named graph with provenance beside it.

    ``extra`` sources (see :func:`prepare`) are written in the same transaction. With
    ``strict``, warnings refuse the ingest too.

    Nothing is written unless every file reads, maps and validates. Only what changed is
    validated and written: the records of a file that differ from what the store holds
    (:func:`validate_sources`), with the provenance of the files whose graph or bytes
    changed, and the change to the derived graph (pooled estimates and EMMIE ratings,
    :mod:`whatworks.analysis.derived`), all in one atomic step: the embedded store
    switches to the staging copy below once it holds all of it (decision 0019), another
    store takes it as one update. The derived change is computed beforehand over a
    private staging copy of the store holding the new evidence
    (:func:`whatworks.core.store.staging_copy`): for the interventions the change can reach,
    or all of them after a large change; results that did not change are not rewritten.
    A file whose graph and bytes are both as stored writes nothing, and the dataset
    version stays as it was. A file with no records (no triples: a blank coding sheet) is
    left out (:attr:`IngestReport.empty`), its stored graph kept; when no file has any,
    nothing is written.

    :raises InputError: see :func:`prepare`.
    :raises ValidationFailed: see :func:`prepare`.
    :raises whatworks.core.errors.StoreError: the write failed; the store is unchanged.
    """
    started = datetime.now(UTC)
    sources, warnings = prepare(
        paths,
        store,
        encoding=encoding,
        kind=kind,
        graph=graph,
        progress=progress,
        base=base,
        extra=extra,
        incremental=True,
        strict=strict,
        engine=engine,
    )
    ended = datetime.now(UTC)
    built = {id(s) for s in extra}
    empty = tuple(s.path for s in sources if not s.triples() and id(s) not in built)
    sources = [s for s in sources if s.triples() or id(s) in built]
    if not sources:
        return IngestReport((), 0, 0, store.dataset_version(), tuple(warnings), empty=empty)
    canon = Canonical()
    changes: dict[URIRef, tuple[list[Triple], list[Triple]]] = {}
    touched: set[URIRef] = set()
    for source in sources:
        change = source.change
        assert change is not None
        if change:
            changes[source.graph_iri] = (change.gone, change.came)
            touched |= change.subjects()
        elif _same_file(store, source):
            continue  # same bytes, same graph: the stored provenance still holds
        prov_iri = provenance_graph(source.graph_iri)
        if source.plan is not None and source.digest is not None:
            prov_change = row_provenance_change(
                store,
                source.graph_iri,
                source.file,
                source.plan,
                source.digest,
                canon,
                started=started,
                ended=ended,
            )
        else:
            prov = build_provenance(
                source.graph_iri,
                source.file,
                source.origins(),
                started=started,
                ended=ended,
                digest=source.digest,
            )
            prov_change = graph_change(store, prov_iri, prov, canon)
        if prov_change:
            changes[prov_iri] = (prov_change.gone, prov_change.came)
    written = [(g, len(gone), len(came)) for g, (gone, came) in changes.items()]
    version = store.dataset_version()
    derived = "none"
    # Evidence, provenance, derived results and the dataset version are published in ONE
    # step. The derived results are computed first, over a private staging copy of the
    # store that holds the change: readers see the old version or the new one, never new
    # evidence with old results (docs/decisions/0015-one-transaction-staged.md; the
    # embedded store switches to the copy itself: 0019).
    # A derived graph still holding the mark of an ingest of an earlier whatworks (which
    # wrote the derived results in a second transaction, 0009) is recomputed whole.
    pending = (_DERIVED_GRAPH, RDFS.comment, Literal(_PENDING))
    stale = _holds(store, _DERIVED_GRAPH, pending)
    if touched or stale:
        # Imported here, for an ingest that changes something. (The statistics behind it,
        # SciPy, statsmodels and PyMARE, take over a second to import: meta_analysis
        # imports them only when something is pooled.)
        from whatworks.analysis.derived import DERIVED_GRAPH, affected_interventions, derived_change

        assert DERIVED_GRAPH == _DERIVED_GRAPH
        partial = (
            touched
            and not stale
            and _has_derived(store, DERIVED_GRAPH)
            and (
                len(touched) <= PARTIAL_DERIVE_LIMIT
                or len(touched) <= _size(store, DERIVED_GRAPH) // PARTIAL_DERIVE_SHARE
            )
        )
        before = affected_interventions(store, touched) if partial else set()
        with staging_copy(store) as staged:
            if changes:
                _update(staged, changes)
            interventions = before | affected_interventions(staged, touched) if partial else None
            update = derived_change(staged, interventions=interventions)
            derived = "full" if update.full else "partial"
            if stale:
                update.remove.add(pending)
            update.add.discard(pending)
            difference = (list(update.remove), list(update.add))
            if update:
                written.append((DERIVED_GRAPH, len(update.remove), len(update.add)))
            # The embedded store makes the copy itself the new version: the derived change
            # and the version go into it too, and the store switches to it in one rename
            # (docs/decisions/0019-switched-store-folder.md). Elsewhere (remote stores) the
            # whole change is one update request below.
            switch = getattr(store, "switch_to", None)
            if switch is not None and (changes or update):
                version = str(switch(staged, {DERIVED_GRAPH: difference} if update else {}))
                changes = {}
            elif update:
                changes[DERIVED_GRAPH] = difference
    if changes:
        version = _update(store, changes)
    return IngestReport(
        graphs=tuple(s.graph_iri for s in sources),
        records=sum(len(s.records) or len(s.origins()) for s in sources),
        triples=sum(s.triples() for s in sources),
        version=version,
        warnings=tuple(warnings),
        written=tuple(written),
        derived=derived,
        empty=empty,
        by_row=tuple(s.graph_iri for s in sources if s.plan is not None),
    )


#: Up to this many changed subjects the derived graph is brought up to date for the
#: interventions the change reaches; above it, and above a tenth of the derived graph's
#: triples (:data:`PARTIAL_DERIVE_SHARE`), it is recomputed whole: asking which
#: interventions a change reaches (about 0.3 ms a subject, before and after) then costs
#: more than recomputing them all. Recomputing grows faster than the store (26 s at 1.4M
#: quads, 297 s at 5.7M: BENCHMARKS.md), so a large store takes large changes partially.
PARTIAL_DERIVE_LIMIT = 20_000
PARTIAL_DERIVE_SHARE = 10


def _size(store: Store, graph: URIRef) -> int:
    rows = _select(store, "graph_size", {"graph": graph})
    return int(str(rows[0]["n"])) if rows else 0


def _update(store: Store, changes: Mapping[URIRef, GraphChange]) -> str:
    method = getattr(store, "update_graphs", None)
    if method is None:  # a Store written before update_graphs existed
        return update_graphs_by_replacing(store, changes)
    return str(method(changes))


_PENDING = "being brought up to date after a change to the evidence"
#: whatworks.analysis.derived.DERIVED_GRAPH, without importing the statistics behind that module.
_DERIVED_GRAPH = URIRef(f"{GRAPH}derived")


def _holds(store: Store, graph: URIRef, triple: Triple) -> bool:
    s, p, o = triple
    terms = {"graph": graph, "subject": s, "predicate": p, "object": o}
    return bool(_select(store, "ingest_holds", terms))


def _has_derived(store: Store, graph: URIRef) -> bool:
    return bool(_select(store, "graph_not_empty", {"graph": graph}))


def _same_file(store: Store, source: Source) -> bool:
    """Whether the stored provenance says the graph came from these very bytes."""
    prov = provenance_graph(source.graph_iri)
    terms = {"provenance": prov, "graph": source.graph_iri, "file": source.file.iri}
    return bool(_select(store, "ingest_same_file", terms))


def validate_store(
    store: Store, *, batch_triples: int = VALIDATE_BATCH_TRIPLES, engine: Engine = "compiled"
) -> tuple[list[Problem], list[Problem]]:
    """Validate every data graph of the store; locate results through the stored provenance.

    Returns (violations, warnings), each pointing at the file, sheet, row and column the
    offending triple was ingested from, where the provenance says.

    A store of up to ``batch_triples`` triples is validated as one graph. A larger one is
    validated in batches of whole named graphs, each with the ``rdf:type`` of the nodes it
    links to in other graphs: every record lives in one graph (its node and sub-nodes are
    minted from one file), and the shapes read no more than a record's own triples and the
    class of what it links to (``shapes/README.md``; the incremental ingest relies on the
    same rule). Memory then follows the largest batch, not the store: at 5M triples, one
    graph took 8.5 GB.
    """
    from whatworks.core.store import union_graph

    data_graphs = [g for g in store.graph_names() if not str(g).endswith("/provenance")]
    results: list[ValidationResult] = []
    checked = class_checked_predicates()
    for batch in _batches(store, data_graphs, batch_triples):
        if engine == "compiled":
            # The triples as they come, no rdflib graph (building one was half the time).
            triples = [t for graph in batch for t in store.triples(graph)]
            linked: list[URIRef] = []
            if len(batch) < len(data_graphs):
                subjects = {s for s, _, _ in triples}
                linked = sorted(
                    {o for _, p, o in triples if p in checked and isinstance(o, URIRef)} - subjects
                )
            context = [
                (iri, RDF.type, cls) for iri, cls, _ in _types_in_store(store, linked, batch)
            ]
            results += validate_triples(triples, context=context).results
            del triples, context
            continue
        data = union_graph(store, batch)
        if len(batch) == len(data_graphs):
            results += validate(data, engine=engine).results
            continue
        # The class of what the batch links to through a class-checked link: all the
        # shapes read of other graphs.
        linked = sorted(
            {o for s, p, o in data if p in checked and isinstance(o, URIRef)}
            - set(data.subjects(unique=True))
        )
        types = Graph()
        for iri, cls, _ in _types_in_store(store, linked, batch):
            types.add((iri, RDF.type, cls))
        results += validate(data, context=types, engine=engine).results
        del data, types
    rows = _stored_rows(store)
    violations: list[Problem] = []
    warnings: list[Problem] = []
    for result in results:
        problem = _locate_stored(result, rows)
        (violations if result.severity == "Violation" else warnings).append(problem)
    return violations, warnings


def _batches(store: Store, graphs: list[URIRef], limit: int) -> list[list[URIRef]]:
    """``graphs`` in batches of up to ``limit`` triples (a larger graph is a batch alone)."""
    sizes = {URIRef(str(row["g"])): int(str(row["n"])) for row in _select(store, "graph_sizes")}
    if sum(sizes.get(g, 0) for g in graphs) <= limit:
        return [graphs]
    batches: list[list[URIRef]] = [[]]
    filled = 0
    for graph in graphs:
        size = sizes.get(graph, 0)
        if batches[-1] and filled + size > limit:
            batches.append([])
            filled = 0
        batches[-1].append(graph)
        filled += size
    return batches


_SUFFIXES = ("estimate", "measure", "population", "context")


def _stored_rows(store: Store) -> dict[URIRef, tuple[str, str, int]]:
    rows: dict[URIRef, tuple[str, str, int]] = {}
    for row in _select(store, "ingest_source_rows"):
        rows[URIRef(str(row["s"]))] = (str(row["name"]), str(row["sheet"]), int(str(row["n"])))
    return rows


def _locate_stored(result: ValidationResult, rows: dict[URIRef, tuple[str, str, int]]) -> Problem:
    focus = str(result.focus_node)
    record, node = focus, ""
    for suffix in _SUFFIXES:
        if focus.endswith("/" + suffix):
            record, node = focus[: -len(suffix) - 1], suffix
    if "/work/" in focus:
        record, node = focus.replace("/work/", "/study/"), "work"
    where = rows.get(URIRef(record))
    value = None if result.value is None else str(result.value)
    if where is None:
        return Problem(
            "", result.message, found=f"{focus} {value or ''}".strip(), shape_id=result.shape_id
        )
    name, sheet_name, row = where
    column = ""
    sheet = SHEETS_BY_NAME.get(sheet_name)
    if sheet is not None and result.path is not None:
        from .mapping import property_iri

        column = next(
            (
                c.name
                for c in sheet.columns
                if c.node == node and c.prop and property_iri(c.prop) == result.path
            ),
            "",
        )
    return Problem(
        name,
        result.message,
        sheet=sheet_name,
        row=row,
        column=column,
        found=value,
        shape_id=result.shape_id,
    )
