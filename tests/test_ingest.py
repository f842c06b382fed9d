"""Ingest through the CLI: good sheets land; every kind of bad input is refused with its
file, row and column, a non-zero exit, and the store exactly as it was."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from rdflib import Graph

from tests.conftest import (
    CLI,
    SYNTHETIC_BASE,
    synthetic_finding,
    synthetic_study,
    write_sheet,
)
from whatworks.core.engine import engine_folder
from whatworks.core.store import open_store


def ingest(cli: CLI, *paths: Path, extra: tuple[str, ...] = ()) -> tuple[int, str]:
    result = cli("ingest", "--id-base", SYNTHETIC_BASE, *extra, *map(str, paths))
    return result.exit_code, result.output


def snapshot(store_dir: Path) -> set[str]:
    """Every quad of the store, as N-Quads lines (empty if there is no store)."""
    if not store_dir.exists():
        return set()
    store = open_store(store_dir, read_only=True)
    try:
        from io import BytesIO

        out = BytesIO()
        store.export(out, format="nquads")
    finally:
        store.close()
    return set(out.getvalue().decode().splitlines())


def source_quads(store_dir: Path) -> set[str]:
    """The quads of the source graphs: not provenance, the dataset's version or the derived
    graph, which record when they were made."""
    skip = ("/provenance>", "/graph/meta>", "/graph/derived>")
    return {q for q in snapshot(store_dir) if not q.rstrip(" .").endswith(skip)}


def csvs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.csv"))


def test_valid_sheets_land_in_named_graphs_with_provenance(
    cli: CLI, sheets: Path, store_dir: Path
) -> None:
    code, out = ingest(cli, *csvs(sheets))
    assert code == 0, out
    assert "ingested 3 file(s)" in out
    stats = json.loads(cli("stats", "--json").output)
    assert stats["classes"]["https://w3id.org/whatworks/emmie#Study"] == 2
    assert stats["classes"]["https://w3id.org/whatworks/emmie#Finding"] == 2
    graphs = stats["graphs"]
    assert "https://w3id.org/whatworks/graph/syn.findings" in graphs
    assert "https://w3id.org/whatworks/graph/syn.findings/provenance" in graphs
    rows = cli(
        "query",
        "--format",
        "csv",
        "-",
        input=(
            "SELECT ?row ?sheet WHERE { <"
            + SYNTHETIC_BASE
            + "finding/f2> prov:wasDerivedFrom ?r . "
            "?r emmie:rowNumber ?row ; emmie:sheetName ?sheet }"
        ),
    ).output.split()
    assert rows[1:] == ["3,findings"]


def test_same_sheet_twice_gives_the_same_graph(cli: CLI, sheets: Path, store_dir: Path) -> None:
    assert ingest(cli, *csvs(sheets))[0] == 0
    first = source_quads(store_dir)
    assert ingest(cli, *csvs(sheets))[0] == 0
    second = source_quads(store_dir)
    assert first == second
    assert not any(line.startswith("_:") or " _:" in line for line in first), "no blank nodes"


def test_reingest_replaces_the_graph(cli: CLI, sheets: Path, store_dir: Path) -> None:
    assert ingest(cli, *csvs(sheets))[0] == 0
    write_sheet(sheets, "syn.findings", [synthetic_finding("f1", "s1")])
    assert ingest(cli, sheets / "syn.findings.csv")[0] == 0
    out = cli(
        "query",
        "--format",
        "csv",
        "-",
        input="SELECT (COUNT(*) AS ?n) WHERE { ?f a emmie:Finding }",
    ).output.split()
    assert out[1] == "1"


def assert_refused(
    cli: CLI,
    store_dir: Path,
    paths: list[Path],
    *fragments: str,
    code: int | None = None,
    extra: tuple[str, ...] = (),
) -> str:
    before = snapshot(store_dir)
    exit_code, out = ingest(cli, *paths, extra=extra)
    assert exit_code != 0, out
    if code is not None:
        assert exit_code == code, out
    for fragment in fragments:
        assert fragment in out, f"{fragment!r} not in:\n{out}"
    assert "nothing was written" in out or "error:" in out
    assert snapshot(store_dir) == before, "the store changed"
    return out


@pytest.fixture
def loaded(cli: CLI, sheets: Path) -> Path:
    assert ingest(cli, *csvs(sheets))[0] == 0
    return sheets


def test_missing_required_column(cli: CLI, loaded: Path, store_dir: Path) -> None:
    header = [c for c in ("key", "study", "measure", "proxy", "direction", "summary")]
    path = write_sheet(loaded, "syn.findings", [synthetic_finding("f9", "s1")], header=header)
    assert_refused(
        cli,
        store_dir,
        [path],
        "syn.findings.csv",
        "row 1",
        "column outcome",
        "required column is missing",
        code=1,
    )


def test_renamed_column_suggests_the_right_name(cli: CLI, loaded: Path, store_dir: Path) -> None:
    header = ["key", "study", "outcom", "measure", "proxy", "direction", "summary"]
    row = synthetic_finding("f9", "s1")
    row["outcom"] = "entry"
    path = write_sheet(loaded, "syn.findings", [row], header=header)
    assert_refused(
        cli, store_dir, [path], "column outcom", "did you mean 'outcome'", "column outcome"
    )


def test_unknown_outcome_lists_allowed_values(cli: CLI, loaded: Path, store_dir: Path) -> None:
    path = write_sheet(
        loaded,
        "syn.findings",
        [synthetic_finding("f1", "s1"), synthetic_finding("f2", "s1", outcome="exit")],
    )
    assert_refused(
        cli,
        store_dir,
        [path],
        "row 3",
        "column outcome",
        "'exit'",
        "entry, re-entry, reunification",
    )


def test_unknown_intervention_type(cli: CLI, loaded: Path, store_dir: Path) -> None:
    path = write_sheet(
        loaded, "syn.interventions", [{"key": "i1", "label": "x", "intervention_type": "hugging"}]
    )
    assert_refused(
        cli, store_dir, [path], "row 2", "column intervention_type", "'hugging'", "skills_training"
    )


def test_number_that_is_not_a_number(cli: CLI, loaded: Path, store_dir: Path) -> None:
    path = write_sheet(
        loaded,
        "syn.findings",
        [synthetic_finding("f1", "s1", estimate="1,25"), synthetic_finding("f2", "s1", n="many")],
    )
    out = assert_refused(
        cli, store_dir, [path], "row 2, column estimate", "'1,25'", "row 3, column n", "'many'"
    )
    assert "2 problem(s)" in out, "every error is reported at once"


def test_inverted_interval_is_one_problem_naming_both_columns(
    cli: CLI, loaded: Path, store_dir: Path
) -> None:
    path = write_sheet(
        loaded,
        "syn.findings",
        [
            synthetic_finding("f1", "s1"),
            synthetic_finding("f2", "s1", estimate="1.1", ci_lower="1.5", ci_upper="0.9"),
        ],
    )
    out = assert_refused(
        cli,
        store_dir,
        [path],
        "syn.findings.csv",
        "row 3, column ci_lower",
        "inverted interval",
        "ci_lower 1.5, ci_upper 0.9",
        code=1,
    )
    assert "1 problem(s)" in out, "one fault, one problem (not the estimate outside each limit)"
    assert "WW-EST-010" not in out and "WW-EST-011" not in out, out


def test_estimate_outside_its_interval_is_a_shacl_violation_at_the_cell(
    cli: CLI, loaded: Path, store_dir: Path
) -> None:
    path = write_sheet(
        loaded,
        "syn.findings",
        [synthetic_finding("f2", "s1", estimate="0.5", ci_lower="0.6", ci_upper="0.9")],
    )
    assert_refused(cli, store_dir, [path], "row 2, column ci_lower", "WW-EST-010", code=1)


def test_quality_seven(cli: CLI, loaded: Path, store_dir: Path) -> None:
    path = write_sheet(
        loaded,
        "syn.emmie",
        [{"key": "c1", "study": "s1", "dimension": "effect", "summary": "x", "quality": "7"}],
    )
    assert_refused(cli, store_dir, [path], "row 2", "column quality", "'7'", "0, 1, 2, 3, 4")


def test_duplicate_study_keys(cli: CLI, loaded: Path, store_dir: Path) -> None:
    path = write_sheet(
        loaded, "syn.studies", [synthetic_study("s1"), synthetic_study("s2"), synthetic_study("s1")]
    )
    assert_refused(
        cli, store_dir, [path], "row 4", "column key", "duplicate key", "row 2 already uses it"
    )


def test_key_defined_in_another_graph(cli: CLI, loaded: Path, store_dir: Path) -> None:
    path = write_sheet(loaded, "other.studies", [synthetic_study("s1")])
    assert_refused(
        cli,
        store_dir,
        [path],
        "other.studies.csv, sheet studies, row 2, column key",
        "already used by syn.studies.csv (row 2) in graph",
        "syn.studies>",
    )


def test_finding_pointing_at_a_missing_study(cli: CLI, loaded: Path, store_dir: Path) -> None:
    path = write_sheet(loaded, "syn.findings", [synthetic_finding("f1", "nosuchstudy")])
    assert_refused(
        cli, store_dir, [path], "row 2", "column study", "'nosuchstudy'", "no study with this key"
    )


def test_reference_to_a_study_in_the_store_is_fine(cli: CLI, loaded: Path) -> None:
    path = write_sheet(loaded, "more.findings", [synthetic_finding("f7", "s2")])
    code, out = ingest(cli, path)
    assert code == 0, out


def test_empty_file(cli: CLI, loaded: Path, store_dir: Path) -> None:
    path = loaded / "empty.findings.csv"
    path.write_bytes(b"")
    assert_refused(cli, store_dir, [path], "empty.findings.csv", "empty", code=2)


def test_utf8_bom_is_read(cli: CLI, loaded: Path, store_dir: Path) -> None:
    path = write_sheet(
        loaded, "bom.interventions", [{"key": "i9", "label": "Café families"}], encoding="utf-8-sig"
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    code, out = ingest(cli, path)
    assert code == 0, out
    label = cli(
        "query",
        "--format",
        "csv",
        "-",
        input=f"SELECT ?l WHERE {{ <{SYNTHETIC_BASE}intervention/i9> rdfs:label ?l }}",
    ).output.splitlines()
    assert label[1] == "Café families"


def test_latin1_is_refused_clearly_or_read_when_named(
    cli: CLI, loaded: Path, store_dir: Path
) -> None:
    path = write_sheet(
        loaded, "latin.interventions", [{"key": "i8", "label": "Café familles"}], encoding="latin-1"
    )
    assert_refused(
        cli,
        store_dir,
        [path],
        "latin.interventions.csv",
        "not valid UTF-8",
        "0xE9",
        "--encoding",
        code=2,
    )
    code, out = ingest(cli, path, extra=("--encoding", "latin-1"))
    assert code == 0, out
    label = cli(
        "query",
        "--format",
        "csv",
        "-",
        input=f"SELECT ?l WHERE {{ <{SYNTHETIC_BASE}intervention/i8> rdfs:label ?l }}",
    ).output.splitlines()
    assert label[1] == "Café familles"


def test_xlsx_that_is_not_a_zip(cli: CLI, loaded: Path, store_dir: Path) -> None:
    path = loaded / "fake.xlsx"
    path.write_text("key,label\n", encoding="utf-8")
    assert_refused(cli, store_dir, [path], "fake.xlsx", "not a zip archive", code=2)


def test_xlsx_zip_without_a_workbook(cli: CLI, loaded: Path, store_dir: Path) -> None:
    path = loaded / "zip.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    assert_refused(cli, store_dir, [path], "zip.xlsx", "not a readable XLSX workbook", code=2)


def test_xlsx_workbook_round_trip(cli: CLI, tmp_path: Path, store_dir: Path) -> None:
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    template = tmp_path / "coding.xlsx"
    assert cli("template", "--out", str(template)).exit_code == 0
    workbook = load_workbook(template)
    workbook["studies"].append(
        [synthetic_study("x1").get(c.value or "", "") for c in workbook["studies"][1]]
    )
    row = synthetic_finding("xf1", "x1")
    workbook["findings"].append([row.get(c.value or "", "") for c in workbook["findings"][1]])
    # The direction cell, wherever the template puts the column.
    header = [c.value for c in workbook["findings"][1]]
    direction = f"{get_column_letter(header.index('direction') + 1)}2"
    workbook["findings"][direction] = "not-a-direction"
    workbook.save(template)
    before = snapshot(store_dir)
    code, out = ingest(cli, template)
    assert code == 1, out
    assert "sheet findings, row 2, column direction" in out
    assert snapshot(store_dir) == before
    workbook["findings"][direction] = "favourable"
    workbook.save(template)
    code, out = ingest(cli, template)
    assert code == 0, out


def test_unsupported_file_kind(cli: CLI, tmp_path: Path, store_dir: Path) -> None:
    path = tmp_path / "notes.docx"
    path.write_bytes(b"PK")
    assert_refused(cli, store_dir, [path], "unsupported kind of file", ".csv", code=2)


def test_errors_in_several_files_are_all_reported(cli: CLI, loaded: Path, store_dir: Path) -> None:
    a = write_sheet(loaded, "a.findings", [synthetic_finding("fa", "s1", outcome="exit")])
    b = write_sheet(loaded, "b.interventions", [{"key": "bad key", "label": "x"}])
    assert_refused(
        cli, store_dir, [a, b], "a.findings.csv", "b.interventions.csv", "not a valid key"
    )


def test_validate_files_without_storing(cli: CLI, sheets: Path, store_dir: Path) -> None:
    result = cli("validate", "--id-base", SYNTHETIC_BASE, *map(str, csvs(sheets)))
    assert result.exit_code == 0, result.output
    assert "conforms" in result.output
    assert not store_dir.exists()
    bad = write_sheet(sheets, "syn.findings", [synthetic_finding("f1", "s1", ci_upper="0.7")])
    result = cli(
        "validate", "--id-base", SYNTHETIC_BASE, "--format", "json", *map(str, csvs(sheets))
    )
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["conforms"] is False
    violation = report["violations"][0]
    assert violation["file"] == str(bad) and violation["row"] == 2
    assert violation["shape"].startswith("WW-")


def test_validate_junit(cli: CLI, sheets: Path, tmp_path: Path) -> None:
    write_sheet(sheets, "syn.findings", [synthetic_finding("f1", "s1", ci_upper="0.1")])
    out = tmp_path / "report.xml"
    result = cli(
        "validate",
        "--id-base",
        SYNTHETIC_BASE,
        "--format",
        "junit",
        "-o",
        str(out),
        *map(str, csvs(sheets)),
    )
    assert result.exit_code == 1
    import xml.etree.ElementTree as ET

    suite = ET.parse(out).getroot()
    assert suite.tag == "testsuite" and int(suite.get("failures", "0")) >= 1
    assert suite.find("testcase/failure") is not None


def test_validate_store(cli: CLI, sheets: Path) -> None:
    assert ingest(cli, *csvs(sheets))[0] == 0
    result = cli("validate")
    assert result.exit_code == 0, result.output


def test_validate_store_in_batches_finds_what_one_graph_finds(
    cli: CLI, sheets: Path, store_dir: Path
) -> None:
    """Validating the store graph by graph (each with the classes of what it links to)
    reports exactly what validating it as one graph reports, cross-graph checks included."""
    import pyoxigraph as ox

    from whatworks.ingest.pipeline import validate_store

    assert ingest(cli, *csvs(sheets))[0] == 0
    base, emmie = SYNTHETIC_BASE, "https://w3id.org/whatworks/emmie#"
    raw = ox.Store(str(engine_folder(store_dir)))
    # Break the stored data behind the ingest's back: a finding loses its study, another
    # points at the intervention as its study (a class check across graphs), a study gets
    # a second design outside the list.
    raw.update(
        f"DELETE WHERE {{ GRAPH ?g {{ <{base}finding/f2> <{emmie}fromStudy> ?s }} }} ;"
        f"DELETE {{ GRAPH ?g {{ <{base}finding/f1> <{emmie}fromStudy> ?s }} }}"
        f" INSERT {{ GRAPH ?g {{ <{base}finding/f1> <{emmie}fromStudy> <{base}intervention/i1> }}"
        " }"
        f" WHERE {{ GRAPH ?g {{ <{base}finding/f1> <{emmie}fromStudy> ?s }} }} ;"
        f"INSERT {{ GRAPH ?g {{ <{base}study/s2> <{emmie}design> <{base}not-a-design> }} }}"
        f" WHERE {{ GRAPH ?g {{ <{base}study/s2> a <{emmie}Study> }} }}"
    )
    raw.flush()
    del raw
    store = open_store(store_dir, read_only=True)
    try:
        whole = validate_store(store)
        by_graph = validate_store(store, batch_triples=1)
    finally:
        store.close()

    def found(problems: tuple[list, list]) -> list[str]:  # type: ignore[type-arg]
        return sorted(json.dumps(p.as_dict(), sort_keys=True) for p in problems[0] + problems[1])

    assert found(by_graph) == found(whole)
    shapes = {p.shape_id for p in whole[0]}
    assert len(shapes) >= 3, whole[0]
    assert "WW-EVID-005" in shapes  # fromStudy must link to a Study: seen across graphs
    result = cli("validate", "--batch-triples", "1")
    assert result.exit_code == 1, result.output


def test_validate_without_store_is_an_io_error(cli: CLI) -> None:
    result = cli("validate")
    assert result.exit_code == 2
    assert "no store" in result.output


def test_query_formats(cli: CLI, sheets: Path) -> None:
    assert ingest(cli, *csvs(sheets))[0] == 0
    select = "SELECT ?s WHERE { ?s a emmie:Study } ORDER BY ?s"
    table = cli("query", "-", input=select).output
    assert "(2 rows)" in table
    as_json = json.loads(cli("query", "--format", "json", "-", input=select).output)
    assert [b["s"]["value"] for b in as_json["results"]["bindings"]] == [
        SYNTHETIC_BASE + "study/s1",
        SYNTHETIC_BASE + "study/s2",
    ]
    assert cli("query", "-", input="ASK { ?s a emmie:Finding }").output.strip() == "true"
    turtle = cli(
        "query",
        "--format",
        "turtle",
        "-",
        input="CONSTRUCT { ?s a emmie:Study } WHERE { ?s a emmie:Study }",
    ).output
    graph = Graph().parse(data=turtle, format="turtle")
    assert len(graph) == 2
    bad = cli("query", "-", input="SELEKT nothing")
    assert bad.exit_code == 2 and "malformed SPARQL" in bad.output


def test_export_round_trips(cli: CLI, sheets: Path, tmp_path: Path) -> None:
    assert ingest(cli, *csvs(sheets))[0] == 0
    out = tmp_path / "base.nq"
    assert cli("export", "--out", str(out)).exit_code == 0
    import pyoxigraph as ox

    names = {
        q.graph_name.value
        for q in ox.parse(path=str(out), format=ox.RdfFormat.N_QUADS)
        if isinstance(q.graph_name, ox.NamedNode)
    }
    assert "https://w3id.org/whatworks/graph/syn.studies" in names


def test_template_csv_and_reference(cli: CLI, tmp_path: Path) -> None:
    folder = tmp_path / "blank"
    assert cli("template", "--format", "csv", "--out", str(folder)).exit_code == 0
    assert (folder / "template.findings.csv").read_text().startswith("key,study,")
    assert (folder / "README.md").exists()
