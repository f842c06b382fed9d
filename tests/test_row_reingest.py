"""Re-ingest by row: a file whose graph is stored with row hashes is mapped and compared
only where its rows changed, and the store it leaves is exactly the one a whole
comparison leaves (docs/decisions/0018-re-ingest-by-row.md).

Two stores take the same ingests of the same synthetic sheets: one as an ingest does them,
the other with the comparison by row turned off (no stored rows are found, as for a store
written before row hashes). After every step their N-Quads, sorted, must be equal but for
the times of the ingests."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rdflib import URIRef
from rdflib.namespace import DCTERMS

from benchmarks.synthetic import SYNTHETIC_ID_BASE, generate
from whatworks.core.errors import InputError
from whatworks.core.namespaces import META_GRAPH, provenance_graph, source_graph
from whatworks.core.store import EmbeddedStore, open_store
from whatworks.core.vocab import EMMIE
from whatworks.ingest import pipeline
from whatworks.ingest.pipeline import IngestReport, ingest

Row = dict[str, str]
FINDINGS = source_graph("synthetic.findings")


@pytest.fixture(scope="module")
def sheets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sheets")
    generate(folder, size="10k", seed=5)
    return folder


class Pair:
    """The two stores, and the sheets they are ingested from (a copy to edit)."""

    def __init__(self, folder: Path, by_row: EmbeddedStore, whole: EmbeddedStore) -> None:
        self.folder = folder
        self.by_row = by_row
        self.whole = whole

    def ingest(
        self, monkeypatch: pytest.MonkeyPatch, *names: str, same_writes: bool = True
    ) -> tuple[IngestReport, IngestReport]:
        paths = [self.folder / f"synthetic.{name}.csv" for name in names]
        row_report = ingest(paths, self.by_row, base=SYNTHETIC_ID_BASE)
        with monkeypatch.context() as patch:
            patch.setattr(pipeline, "stored_rows", lambda store, graph: None)
            whole_report = ingest(paths, self.whole, base=SYNTHETIC_ID_BASE)
        assert whole_report.by_row == ()
        assert row_report.written and whole_report.written
        if same_writes:
            assert sorted(row_report.written) == sorted(whole_report.written)
        assert (row_report.records, row_report.triples) == (
            whole_report.records,
            whole_report.triples,
        )
        assert_same_store(self.by_row, self.whole)
        return row_report, whole_report

    def edit(self, sheet: str, change: Callable[[list[str], list[Row]], list[Row]]) -> None:
        path = self.folder / f"synthetic.{sheet}.csv"
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            fields = list(reader.fieldnames or [])
            rows = list(reader)
        rows = change(fields, rows)
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)


@pytest.fixture
def pair(tmp_path: Path, sheets: Path) -> Iterator[Pair]:
    folder = tmp_path / "sheets"
    folder.mkdir()
    for path in sheets.glob("*.csv"):
        (folder / path.name).write_bytes(path.read_bytes())
    stores = [open_store(tmp_path / name) for name in ("by-row", "whole")]
    try:
        for store in stores:
            ingest(sorted(folder.glob("*.csv")), store, base=SYNTHETIC_ID_BASE)
        yield Pair(folder, *stores)
    finally:
        for store in stores:
            store.close()


_TIME = re.compile(r'"[^"]*"\^\^<http://www\.w3\.org/2001/XMLSchema#dateTime>')
#: An ingest's IRI ends with the time it started (provenance.build_provenance).
_INGEST = re.compile(r"(/ingest/[0-9a-f]{16})-[0-9T]+>")


def nquads(store: EmbeddedStore) -> list[str]:
    """The store's statements, sorted, with the times of ingests blanked (and without the
    dataset's version, which is new at every write)."""
    out = io.BytesIO()
    store.export(out, format="nquads")
    lines = out.getvalue().decode("utf-8").splitlines()
    return sorted(
        _INGEST.sub(r"\1>", _TIME.sub('"T"', line)) for line in lines if str(META_GRAPH) not in line
    )


def assert_same_store(by_row: EmbeddedStore, whole: EmbeddedStore) -> None:
    ours, theirs = nquads(by_row), nquads(whole)
    extra, missing = sorted(set(ours) - set(theirs)), sorted(set(theirs) - set(ours))
    assert not extra and not missing, (
        f"compared by row the store holds {len(extra)} statements a whole comparison does "
        f"not give and lacks {len(missing)}:\n"
        + "\n".join([*("+ " + s for s in extra[:10]), *("- " + s for s in missing[:10])])
    )
    assert len(ours) == len(theirs)


def referenced_findings(folder: Path) -> set[str]:
    with (folder / "synthetic.moderators.csv").open(newline="", encoding="utf-8") as f:
        return {row["finding"] for row in csv.DictReader(f) if row["finding"]}


def test_changed_added_removed_moved_and_renamed_rows(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = referenced_findings(pair.folder)

    def revise(fields: list[str], rows: list[Row]) -> list[Row]:
        for row in rows[:5]:
            row["where_read"] += " (revised)"
        return rows

    pair.edit("findings", revise)
    report, _ = pair.ingest(monkeypatch, "findings")
    assert report.by_row == (FINDINGS,)
    assert dict((g, (gone, came)) for g, gone, came in report.written)[FINDINGS] == (5, 5)

    def add(fields: list[str], rows: list[Row]) -> list[Row]:
        copies = [dict(row, key=row["key"] + "-again") for row in rows[10:12]]
        return rows[:20] + copies + rows[20:]

    pair.edit("findings", add)
    assert pair.ingest(monkeypatch, "findings")[0].by_row == (FINDINGS,)

    def remove(fields: list[str], rows: list[Row]) -> list[Row]:
        gone = [i for i, row in enumerate(rows) if row["key"] not in taken][:3]
        return [row for i, row in enumerate(rows) if i not in gone]

    pair.edit("findings", remove)
    assert pair.ingest(monkeypatch, "findings")[0].by_row == (FINDINGS,)

    def move(fields: list[str], rows: list[Row]) -> list[Row]:
        return rows[1:] + rows[:1]  # the first row to the end: every row moves up one

    pair.edit("findings", move)
    report, _ = pair.ingest(monkeypatch, "findings")
    assert report.by_row == (FINDINGS,)
    assert FINDINGS not in {g for g, _, _ in report.written}  # the same triples

    def swap(fields: list[str], rows: list[Row]) -> list[Row]:
        rows[3], rows[7] = rows[7], rows[3]
        return rows

    pair.edit("findings", swap)
    assert pair.ingest(monkeypatch, "findings")[0].by_row == (FINDINGS,)

    def rename(fields: list[str], rows: list[Row]) -> list[Row]:
        row = next(row for row in rows if row["key"] not in taken)
        row["key"] += "-renamed"
        return rows

    pair.edit("findings", rename)
    assert pair.ingest(monkeypatch, "findings")[0].by_row == (FINDINGS,)


def test_several_files_changed_together(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """A finding's row changed beside its study's unchanged row in the same batch: the
    shapes see the class of the study, which was not mapped; and a moderator's row."""
    studies: list[str] = []

    def revise(fields: list[str], rows: list[Row]) -> list[Row]:
        rows[0]["where_read"] += " (revised)"
        studies.append(rows[0]["study"])
        return rows

    def retitle(fields: list[str], rows: list[Row]) -> list[Row]:
        row = next(row for row in rows if row["key"] not in studies)
        row["title"] += " (second edition)"
        return rows

    def relabel(fields: list[str], rows: list[Row]) -> list[Row]:
        rows[-1]["label"] += " (relabelled)"
        return rows

    pair.edit("findings", revise)
    pair.edit("studies", retitle)
    pair.edit("moderators", relabel)
    report, _ = pair.ingest(monkeypatch, "moderators", "findings", "studies")
    assert len(report.by_row) == 3


def test_a_new_column_layout_is_compared_whole(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    def reorder(fields: list[str], rows: list[Row]) -> list[Row]:
        fields.reverse()
        rows[0]["where_read"] += " (revised)"
        return rows

    pair.edit("findings", reorder)
    assert pair.ingest(monkeypatch, "findings")[0].by_row == ()

    def revise(fields: list[str], rows: list[Row]) -> list[Row]:
        rows[1]["where_read"] += " (revised)"
        return rows

    pair.edit("findings", revise)  # (DictWriter keeps the reversed order)
    assert pair.ingest(monkeypatch, "findings")[0].by_row == (FINDINGS,)


def test_a_store_written_before_row_hashes(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without row hashes (an earlier whatworks wrote the store) the file is compared
    whole, and the hashes are written; the next ingest compares it by row."""
    prov = provenance_graph(FINDINGS)
    hashes = [
        (s, p, o)
        for s, p, o in pair.by_row.triples(prov)
        if p in (EMMIE.rowHash, EMMIE.mappingDigest)
    ]
    assert hashes
    pair.by_row.update_graphs({prov: (hashes, [])})  # type: ignore[dict-item]

    def revise(fields: list[str], rows: list[Row]) -> list[Row]:
        rows[0]["where_read"] += " (revised)"
        return rows

    pair.edit("findings", revise)
    # (The store without hashes takes them now: it writes more than the other.)
    assert pair.ingest(monkeypatch, "findings", same_writes=False)[0].by_row == ()
    stored = {p for _, p, _ in pair.by_row.triples(prov)}
    assert {EMMIE.rowHash, EMMIE.mappingDigest, DCTERMS.isPartOf} <= stored

    def revise_again(fields: list[str], rows: list[Row]) -> list[Row]:
        rows[1]["where_read"] += " (revised)"
        return rows

    pair.edit("findings", revise_again)
    assert pair.ingest(monkeypatch, "findings")[0].by_row == (FINDINGS,)


def test_a_bad_change_reports_what_a_whole_comparison_reports(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing is written, and every fault of the file is reported as when it is read
    whole: here a reference to no study, and a cell of the wrong kind."""

    def break_rows(fields: list[str], rows: list[Row]) -> list[Row]:
        rows[4]["study"] = "no-such-study"
        rows[9]["n"] = "many"
        return rows

    pair.edit("findings", break_rows)
    path = pair.folder / "synthetic.findings.csv"
    before = nquads(pair.by_row)
    with pytest.raises(InputError) as by_row:
        ingest([path], pair.by_row, base=SYNTHETIC_ID_BASE)
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "stored_rows", lambda store, graph: None)
        with pytest.raises(InputError) as whole:
            ingest([path], pair.whole, base=SYNTHETIC_ID_BASE)
    assert by_row.value.problems == whole.value.problems
    assert {p.row for p in by_row.value.problems} == {6, 11}
    assert nquads(pair.by_row) == before


def test_row_hash_ignores_the_column_layout_and_sees_every_cell(tmp_path: Path) -> None:
    """The same rows with their columns in another order hash the same; a changed cell,
    or a separator moved between two cells, does not."""
    from whatworks.ingest.provenance import row_hash
    from whatworks.ingest.records import parse_sheet
    from whatworks.ingest.tabular import read_csv

    original = Path(__file__).parents[1] / "data" / "evidence" / "field-interventions.csv"
    with original.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    reordered = tmp_path / "field-interventions.csv"
    with reordered.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields[::-1])
        writer.writeheader()
        writer.writerows(rows)

    def hashes(path: Path) -> dict[str, str]:
        records, problems = parse_sheet(read_csv(path))
        assert not problems
        return {r.key: row_hash(r.raw) for r in records}

    assert hashes(original) == hashes(reordered)
    cells = {"key": "a", "note": "x"}
    assert row_hash(cells) != row_hash({"key": "a", "note": "y"})
    assert row_hash({"key": "a", "note": "x;"}) != row_hash({"key": "a;", "note": "x"})
    assert row_hash({"key": "a", "note": ""}) != row_hash({"key": "a", "note": " "})


def test_unchanged_rows_are_not_mapped(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the changed row's record is mapped (and so validated)."""

    def revise(fields: list[str], rows: list[Row]) -> list[Row]:
        rows[0]["where_read"] += " (revised)"
        return rows

    pair.edit("findings", revise)
    mapped: list[int] = []
    real = pipeline.map_records

    def counting(records, **kwargs):  # type: ignore[no-untyped-def]
        records = list(records)
        mapped.append(len(records))
        return real(records, **kwargs)

    monkeypatch.setattr(pipeline, "map_records", counting)
    report = ingest([pair.folder / "synthetic.findings.csv"], pair.by_row, base=SYNTHETIC_ID_BASE)
    assert report.by_row == (FINDINGS,)
    assert mapped == [1]
    assert URIRef(FINDINGS) in {g for g, _, _ in report.written}


def test_references_and_dois_read_from_records_are_the_mapped_ones() -> None:
    """What the checks read of the unchanged rows without mapping them (their references
    and their works' DOIs) is what the mapper gives, on every bundled sheet."""
    from rdflib import Literal

    from whatworks.ingest.coding_sheet import Kind
    from whatworks.ingest.mapping import map_records, property_iri, references, work_doi
    from whatworks.ingest.records import parse_sheet
    from whatworks.ingest.tabular import read_csv

    folder = Path(__file__).parents[1] / "data" / "evidence"
    seen_refs = seen_dois = 0
    for path in sorted(folder.glob("*.csv")):
        records, problems = parse_sheet(read_csv(path))
        assert not problems
        graph = map_records(records).graph
        for record in records:
            iri = pipeline.record_iri(record)
            ref_props = {
                property_iri(c.prop) for c in record.sheet.columns if c.kind is Kind.REF and c.prop
            }
            mapped = {o for p in ref_props for o in graph.objects(iri, p)}
            assert set(references(record)) == mapped
            seen_refs += len(mapped)
            pair = work_doi(record)
            dois = {
                (s, o)
                for s in graph.objects(iri, EMMIE.reportedIn)
                for o in graph.objects(s, EMMIE.doi)
            }
            assert ({pair} if pair else set()) == dois
            assert all(isinstance(o, Literal) for _, o in dois)
            seen_dois += len(dois)
    assert seen_refs and seen_dois


def test_a_workbook_of_real_sheets_by_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A workbook (one graph, several sheets) of the bundled studies, interventions and
    findings: a finding's row changed, its study's row unchanged in the same graph, and
    a row of another sheet moved. The same store as a whole comparison."""
    from openpyxl import Workbook

    evidence = Path(__file__).parents[1] / "data" / "evidence"
    inside = ("field-studies", "field-interventions", "field-findings")
    sheets: dict[str, tuple[list[str], list[Row]]] = {}
    for stem in inside:
        with (evidence / f"{stem}.csv").open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            sheets[stem.split("-", 1)[1]] = (list(reader.fieldnames or []), list(reader))
    workbook = tmp_path / "field.xlsx"

    def write() -> None:
        book = Workbook()
        book.remove(book.active)  # type: ignore[arg-type]
        for name, (fields, rows) in sheets.items():
            sheet = book.create_sheet(name)
            sheet.append(fields)
            for row in rows:
                sheet.append([row[f] for f in fields])
        book.save(workbook)

    write()
    others = sorted(p for p in evidence.glob("*.csv") if p.stem not in inside)
    stores = [open_store(tmp_path / name) for name in ("by-row", "whole")]
    try:
        for store in stores:
            ingest([*others, workbook], store)
        graph = source_graph("field")

        def both() -> IngestReport:
            report = ingest([workbook], stores[0])
            with monkeypatch.context() as patch:
                patch.setattr(pipeline, "stored_rows", lambda store, graph: None)
                ingest([workbook], stores[1])
            assert_same_store(*stores)
            return report

        findings = sheets["findings"][1]
        findings[0]["where_read"] += " (revised)"
        studies = sheets["studies"][1]
        assert findings[0]["study"] in {s["key"] for s in studies}
        interventions = sheets["interventions"][1]
        interventions.append(interventions.pop(0))
        write()
        assert both().by_row == (graph,)
    finally:
        for store in stores:
            store.close()
