"""Every fault in one run, duplicates and clashes (issue 15, items 6 and 7).

A coder's sheet is checked in three stages (the sheet rules, the references against the
batch and the store, the SHACL shapes); one run reports what all three find, in reading
order, and writes nothing. A key another source file uses is refused naming both files,
unless the row says it `extends` that record; a DOI that another work gives is reported
naming both keys (a warning; `--strict` refuses it). Synthetic data only, under the
synthetic base, through the CLI against a real embedded store.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import CLI, SYNTHETIC_BASE, synthetic_finding, synthetic_study, write_sheet
from tests.test_ingest import ingest, snapshot
from whatworks.core.errors import SHOWN_PROBLEMS


def nquads(store_dir: Path) -> list[str]:
    """The whole store as sorted N-Quads lines (empty when there is no store)."""
    return sorted(snapshot(store_dir))


def refused_line(cli: CLI, store_dir: Path, *paths: Path, extra: tuple[str, ...] = ()) -> str:
    """Ingest ``paths``: refused with exit 1, the store unchanged; the one problem line."""
    before = nquads(store_dir)
    code, out = ingest(cli, *paths, extra=extra)
    assert code == 1, out
    assert nquads(store_dir) == before
    (line,) = problem_lines(out)
    return line


def problem_lines(out: str) -> list[str]:
    """The problem lines of an error report (indented under its 'error:' line)."""
    return [line.strip() for line in out.splitlines() if line.startswith("  ")]


def select(cli: CLI, sparql: str) -> list[str]:
    result = cli("query", "--format", "csv", "-", input=sparql)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()[1:]


@pytest.fixture
def loaded(cli: CLI, tmp_path: Path) -> Path:
    """A store holding a small synthetic coding set (graphs syn.*)."""
    folder = tmp_path / "sheets"
    folder.mkdir()
    paths = [
        write_sheet(
            folder,
            "syn.studies",
            [synthetic_study("s1", interventions="i1"), synthetic_study("s2")],
        ),
        write_sheet(
            folder,
            "syn.interventions",
            [{"key": "i1", "label": "Synthetic intervention", "intervention_type": "mentoring"}],
        ),
        write_sheet(folder, "syn.findings", [synthetic_finding("f1", "s1", intervention="i1")]),
    ]
    code, out = ingest(cli, *paths)
    assert code == 0, out
    return folder


def test_six_faults_in_three_stages_are_all_reported_in_one_run(
    cli: CLI, loaded: Path, store_dir: Path
) -> None:
    studies = write_sheet(
        loaded,
        "new.studies",
        [
            synthetic_study("n1"),
            synthetic_study("n2", verified="maybe"),  # 1: sheet rule (not an allowed value)
            synthetic_study("n3", year="1066"),  # 2: shape (WW-WORK-005)
        ],
    )
    findings = write_sheet(
        loaded,
        "new.findings",
        [
            synthetic_finding("g1", "n1", estimate="1,25"),  # 3: sheet rule (not a number)
            synthetic_finding("g2", "n1", ci_lower="0.9", ci_upper="0.6"),  # 4: inverted
            synthetic_finding("g3", "nosuchstudy"),  # 5: reference to nothing
            synthetic_finding("g4", "n1", ci_level="1.5"),  # 6: shape (WW-EST-015)
            # Refers to the row that broke the sheet rules: that fault is reported once, at
            # its own row, not again here as a reference to nothing.
            synthetic_finding("g5", "n2"),
        ],
    )
    before = nquads(store_dir)
    code, out = ingest(cli, studies, findings)
    assert code == 1, out
    assert nquads(store_dir) == before, "the store changed"
    assert "6 problem(s); nothing was written" in out, out
    lines = problem_lines(out)
    expected = [
        (findings, 2, "estimate", "not a number"),
        (findings, 3, "ci_lower", "inverted interval"),
        (findings, 4, "study", "no study with this key"),
        (findings, 5, "ci_level", "WW-EST-015"),
        (studies, 3, "verified", "not an allowed value"),
        (studies, 4, "year", "WW-WORK-005"),
    ]
    assert len(lines) == len(expected), out
    # In reading order: file, sheet, row, column.
    for line, (path, row, column, what) in zip(lines, expected, strict=True):
        assert line.startswith(f"{path}, sheet "), line
        assert f"row {row}, column {column}: " in line and what in line, line
    assert "ci_upper" in lines[1], "an inverted interval names both of its columns"


def test_validate_reports_the_same_faults_in_one_run(cli: CLI, loaded: Path) -> None:
    findings = write_sheet(
        loaded,
        "new.findings",
        [
            synthetic_finding("g1", "s1", estimate="x"),
            synthetic_finding("g2", "nosuchstudy"),
            synthetic_finding("g3", "s1", p_value="3"),
        ],
    )
    result = cli("validate", "--id-base", SYNTHETIC_BASE, "--format", "json", str(findings))
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    found = [(v["row"], v["column"]) for v in report["violations"]]
    assert found == [(2, "estimate"), (3, "study"), (4, "p_value")], report
    assert report["violations"][2]["shape"].startswith("WW-EST-")


def test_a_long_list_of_problems_is_capped_in_text_and_whole_in_json(
    cli: CLI, loaded: Path, store_dir: Path
) -> None:
    many = SHOWN_PROBLEMS + 7
    findings = write_sheet(
        loaded, "many.findings", [synthetic_finding(f"m{i}", "s1", n="many") for i in range(many)]
    )
    before = nquads(store_dir)
    code, out = ingest(cli, findings)
    assert code == 1
    assert nquads(store_dir) == before
    assert f"{many} problem(s)" in out
    lines = problem_lines(out)
    assert len(lines) == SHOWN_PROBLEMS + 1, len(lines)
    assert lines[-1] == "... and 7 more problems (not shown)"
    rows = [int(m.group(1)) for m in (re.search(r"row (\d+)", line) for line in lines) if m]
    assert rows == list(range(2, SHOWN_PROBLEMS + 2)), "the first ones, in row order"
    result = cli("validate", "--id-base", SYNTHETIC_BASE, "--format", "json", str(findings))
    assert len(json.loads(result.output)["violations"]) == many


def test_an_intervention_key_from_another_file_is_refused_naming_both_files(
    cli: CLI, loaded: Path, store_dir: Path
) -> None:
    mine = write_sheet(loaded, "mine.interventions", [{"key": "i1", "label": "My programme"}])
    line = refused_line(cli, store_dir, mine)
    assert line.startswith(f"{mine}, sheet interventions, row 2, column key: "), line
    assert "already used by syn.interventions.csv (row 2)" in line, line
    assert "extends" in line, "says how to add to that record on purpose"


def test_a_row_that_extends_adds_to_the_record_of_another_file(
    cli: CLI, loaded: Path, store_dir: Path
) -> None:
    more = write_sheet(
        loaded,
        "more.interventions",
        [{"key": "i1", "extends": "yes", "description": "Described in a second file."}],
    )
    for _ in range(2):  # the same file again is not a clash with itself
        code, out = ingest(cli, more)
        assert code == 0, out
    rows = select(
        cli,
        f"SELECT ?label ?description WHERE {{ <{SYNTHETIC_BASE}intervention/i1> "
        "rdfs:label ?label ; dcterms:description ?description }",
    )
    assert rows == ["Synthetic intervention,Described in a second file."]


def test_a_row_that_extends_is_validated_with_the_record_it_extends(
    cli: CLI, loaded: Path, store_dir: Path
) -> None:
    more = write_sheet(
        loaded, "more.interventions", [{"key": "i1", "extends": "yes", "label": "A second label"}]
    )
    line = refused_line(cli, store_dir, more)
    assert "row 2, column label" in line and "WW-INTV-001" in line, line


def test_a_row_that_extends_nothing_is_refused(cli: CLI, loaded: Path, store_dir: Path) -> None:
    more = write_sheet(
        loaded, "more.interventions", [{"key": "nothing_here", "extends": "yes", "note": "x"}]
    )
    line = refused_line(cli, store_dir, more)
    assert "row 2, column extends: nothing to extend" in line, line


def test_a_doi_coded_twice_in_one_batch_is_reported_naming_both_keys(
    cli: CLI, loaded: Path, store_dir: Path
) -> None:
    studies = write_sheet(
        loaded,
        "twice.studies",
        [
            synthetic_study("t1", doi="10.5555/Same.Work", where_read="p. 1"),
            synthetic_study("t2", doi="https://doi.org/10.5555/same.work", where_read="p. 1"),
        ],
    )
    line = refused_line(cli, store_dir, studies, extra=("--strict",))
    assert line.startswith(f"{studies}, sheet studies, row 3, column doi: study 't2'"), line
    assert "10.5555/same.work" in line and f"study 't1' ({studies}, row 2)" in line, line
    # Without --strict the ingest goes ahead, with the same report as a warning.
    code, out = ingest(cli, studies)
    assert code == 0, out
    assert "warning: " in out and "study 't1'" in out and "counts twice" in out, out


def test_a_doi_already_in_the_store_is_reported_naming_the_stored_key(
    cli: CLI, loaded: Path, store_dir: Path
) -> None:
    stored_doi = synthetic_study("s1")["doi"]
    studies = write_sheet(
        loaded,
        "again.studies",
        [synthetic_study("s1_again", doi=stored_doi.upper(), where_read="p. 1")],
    )
    result = cli("validate", "--id-base", SYNTHETIC_BASE, "--strict", str(studies))
    assert result.exit_code == 1, result.output
    assert "study 's1_again'" in result.output and "study 's1'" in result.output, result.output
    assert stored_doi.upper() in result.output and "syn.studies>" in result.output
    result = cli("validate", "--id-base", SYNTHETIC_BASE, str(studies))
    assert result.exit_code == 0, result.output
    assert "warning: " in result.output and "study 's1'" in result.output


def test_a_key_in_two_files_of_one_call_is_refused_unless_one_extends(
    cli: CLI, loaded: Path, store_dir: Path
) -> None:
    first = write_sheet(loaded, "a.interventions", [{"key": "k2", "label": "Programme K"}])
    second = write_sheet(loaded, "b.interventions", [{"key": "k2", "label": "Programme K again"}])
    line = refused_line(cli, store_dir, first, second)
    assert line.startswith(f"{second}, sheet interventions, row 2, column key: "), line
    assert f"also defined in {first} (row 2)" in line and "extends" in line, line
    write_sheet(
        loaded, "b.interventions", [{"key": "k2", "extends": "yes", "description": "Its text."}]
    )
    code, out = ingest(cli, first, second)
    assert code == 0, out
    rows = select(
        cli,
        f"SELECT ?label ?description WHERE {{ <{SYNTHETIC_BASE}intervention/k2> "
        "rdfs:label ?label ; dcterms:description ?description }",
    )
    assert rows == ["Programme K,Its text."]
