"""The ingest pipeline: read → map → check references → validate → store, all or nothing.

Every problem in every file is collected before anything is reported; SHACL runs on what
was built before anything is written; and all the sources of one call are written in one
transaction, so the store holds either the previous version of every graph or the new one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rdflib import RDF, BNode, Graph, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.term import Node

from whatworks.derived import DERIVED_GRAPH, derive
from whatworks.errors import InputError, Problem, ValidationFailed
from whatworks.namespaces import ID, provenance_graph, resource, source_graph
from whatworks.store import Store
from whatworks.validation import ValidationReport, ValidationResult, validate

from .bibliography import read_bibtex, read_ris
from .coding_sheet import SHEETS_BY_NAME, Kind
from .mapping import Mapped, map_records, record_iri
from .provenance import RowOrigin, SourceFile, build_provenance
from .rdf_source import RDF_SUFFIXES, read_rdf
from .records import Record, all_records, parse_sheet
from .tabular import RawSheet, read_csv, read_xlsx

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

    def origins(self) -> list[RowOrigin]:
        if self.mapped is None:
            subjects = {s for s in self.graph.subjects(RDF.type, None) if isinstance(s, URIRef)}
            return [RowOrigin(s, "", None) for s in sorted(subjects)]
        return [RowOrigin(s, o.sheet.name, o.row) for s, o in self.mapped.subjects]


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did."""

    graphs: tuple[URIRef, ...]
    records: int
    triples: int
    version: str | None
    warnings: tuple[Problem, ...]


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
) -> list[Source]:
    """Read and map every file; raise one :class:`InputError` with every problem found.

    :raises InputError: any file could not be read or has rows that break the coding-sheet
        rules; nothing is returned in that case.
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
            source = _read_one(
                path, encoding=encoding, kind=kind, graph=graph, progress=progress, base=base
            )
        except InputError as exc:
            problems.extend(exc.problems)
            continue
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
    if problems:
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
) -> Source:
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
        return Source(path, graph_iri, file, skolemized(read_rdf(path, data), graph_iri))
    raw: list[RawSheet]
    if suffix == ".csv":
        raw = [read_csv(path, kind=kind, encoding=encoding)]
    elif suffix == ".xlsx":
        raw = read_xlsx(path)
    else:
        text = _bib_text(path, data, encoding)
        raw = [read_ris(path, text) if suffix == ".ris" else read_bibtex(path, text)]
    records, problems = all_records(parse_sheet(r, progress=progress) for r in raw)
    if problems:
        raise InputError(problems)
    mapped = map_records(records, base=base)
    return Source(path, graph_iri, file, mapped.graph, mapped, records)


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
    except (UnicodeDecodeError, LookupError) as exc:
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
    first: dict[URIRef, Record] = {}
    problems = []
    for source in sources:
        for record in source.records:
            iri = record_iri(record, base)
            if iri in first:
                other = first[iri]
                problems.append(
                    record.problem(
                        f"key {record.key!r} is also defined in {other.file} (row {other.row})",
                        column="key",
                        found=record.key,
                    )
                )
            else:
                first[iri] = record
    return problems


def check_against_store(
    sources: Sequence[Source], store: Store | None
) -> tuple[list[Problem], Graph]:
    """Check references and duplicate keys against the batch and the store.

    Returns the problems and a *context* graph: the rdf:type of every IRI the batch links
    to that is defined in the store, outside the graphs this batch replaces.
    """
    replaced = {s.graph_iri for s in sources}
    defined: dict[URIRef, Record] = {}
    base = str(ID)
    for source in sources:
        base = source.file.base
        for record in source.records:
            defined[record_iri(record, base)] = record
    batch_subjects: set[Node] = set()
    for source in sources:
        batch_subjects.update(source.graph.subjects(RDF.type, None))
    linked: set[URIRef] = set()
    for source in sources:
        for obj in source.graph.objects():
            if isinstance(obj, URIRef) and obj not in batch_subjects:
                linked.add(obj)
    context = Graph()
    elsewhere: dict[URIRef, URIRef] = {}
    if store is not None:
        for iri, cls, graph in _types_in_store(store, sorted(linked | set(defined))):
            if graph in replaced:
                continue
            if iri in linked:
                context.add((iri, RDF.type, cls))
            if iri in defined:
                elsewhere.setdefault(iri, graph)
    problems: list[Problem] = []
    for iri, graph in elsewhere.items():
        record = defined[iri]
        problems.append(
            record.problem(
                f"key {record.key!r} is already defined in graph "
                f"<{graph}>; keys are unique across the store",
                column="key",
                found=record.key,
            )
        )
    known = set(defined) | set(context.subjects(RDF.type, None))
    for source in sources:
        for record in source.records:
            for col in record.sheet.columns:
                if col.kind is not Kind.REF or col.name not in record.values:
                    continue
                value = record.values[col.name]
                target = SHEETS_BY_NAME[col.target]
                for key in value if isinstance(value, tuple) else (value,):
                    if resource(target.kind, str(key), base=base) not in known:
                        problems.append(
                            record.problem(
                                f"no {target.kind} with this key in these files or in the store",
                                column=col.name,
                                found=str(key),
                                expected=f"a key of the {target.name} sheet",
                            )
                        )
    return problems, context


def _types_in_store(store: Store, iris: list[URIRef]) -> Iterable[tuple[URIRef, URIRef, URIRef]]:
    for start in range(0, len(iris), 500):
        chunk = " ".join(f"<{i}>" for i in iris[start : start + 500])
        for row in store.select(
            f"SELECT ?s ?c ?g WHERE {{ VALUES ?s {{ {chunk} }} GRAPH ?g {{ ?s a ?c }} }}"
        ):
            yield row["s"], row["c"], row["g"]  # type: ignore[misc]


def validate_sources(
    sources: Sequence[Source], context: Graph
) -> tuple[list[Problem], list[Problem]]:
    """Run the SHACL shapes over the batch; return (violations, warnings) located in cells."""
    data = Graph()
    for source in sources:
        data += source.graph
    report = validate(data, context=context)
    return locate(report, sources)


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
) -> tuple[list[Source], list[Problem]]:
    """Read, map, check and validate; return the sources and SHACL warnings.

    ``extra`` are sources already built by another reader (e.g. the local-authority
    statistics, :mod:`whatworks.ingest.la_statistics`): checked, validated and returned
    with the files read here.

    :raises InputError: unreadable files, rows breaking the sheet rules, unknown references
        or duplicate keys.
    :raises ValidationFailed: SHACL violations.
    """
    sources = read_sources(
        paths, encoding=encoding, kind=kind, graph=graph, progress=progress, base=base
    )
    sources += extra
    problems, context = check_against_store(sources, store)
    if problems:
        raise InputError(problems)
    violations, warnings = validate_sources(sources, context)
    if violations:
        raise ValidationFailed(violations)
    return sources, warnings


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
) -> IngestReport:
    """Ingest files into ``store``: each becomes one named graph with provenance beside it.

    ``extra`` sources (see :func:`prepare`) are written in the same transaction.

    Nothing is written unless every file reads, maps and validates. Afterwards the derived
    graph (pooled estimates and EMMIE ratings, :mod:`whatworks.derived`) is recomputed.

    :raises InputError: see :func:`prepare`.
    :raises ValidationFailed: see :func:`prepare`.
    :raises whatworks.errors.StoreError: the write failed; the store is unchanged.
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
    )
    ended = datetime.now(UTC)
    graphs: dict[URIRef, Iterable[tuple[Node, Node, Node]]] = {}
    for source in sources:
        graphs[source.graph_iri] = source.graph
        graphs[provenance_graph(source.graph_iri)] = build_provenance(
            source.graph_iri, source.file, source.origins(), started=started, ended=ended
        )
    store.replace_graphs(graphs)
    # Derived results (pooled estimates, EMMIE ratings) follow the evidence: recomputed from
    # the store as it now is, and written as one more transaction.
    version = store.replace_graphs({DERIVED_GRAPH: derive(store)})
    return IngestReport(
        graphs=tuple(s.graph_iri for s in sources),
        records=sum(len(s.records) or len(s.origins()) for s in sources),
        triples=sum(len(s.graph) for s in sources),
        version=version,
        warnings=tuple(warnings),
    )


def validate_store(store: Store) -> tuple[list[Problem], list[Problem]]:
    """Validate every data graph of the store; locate results through the stored provenance.

    Returns (violations, warnings), each pointing at the file, sheet, row and column the
    offending triple was ingested from, where the provenance says.
    """
    from whatworks.store import union_graph

    data_graphs = [g for g in store.graph_names() if not str(g).endswith("/provenance")]
    report = validate(union_graph(store, data_graphs))
    rows = _stored_rows(store)
    violations: list[Problem] = []
    warnings: list[Problem] = []
    for result in report.results:
        problem = _locate_stored(result, rows)
        (violations if result.severity == "Violation" else warnings).append(problem)
    return violations, warnings


_SUFFIXES = ("estimate", "measure", "population", "context")


def _stored_rows(store: Store) -> dict[URIRef, tuple[str, str, int]]:
    rows: dict[URIRef, tuple[str, str, int]] = {}
    for row in store.select(
        "PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX dcterms: <http://purl.org/dc/terms/> "
        "PREFIX emmie: <https://w3id.org/whatworks/emmie#> "
        "SELECT ?s ?name ?sheet ?n WHERE { ?s prov:wasDerivedFrom ?row . ?row emmie:rowNumber ?n ;"
        " emmie:sheetName ?sheet ; dcterms:isPartOf ?f . ?f dcterms:title ?name }"
    ):
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
