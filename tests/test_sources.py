"""Other ways in: RIS and BibTeX bibliographies, RDF files, big sheets; and golden graphs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import graph_diff, to_isomorphic

from tests.conftest import CLI, SYNTHETIC_BASE, run_command, write_sheet
from whatworks.ingest.pipeline import read_sources

FIXTURES = Path(__file__).parent / "fixtures"


def ingest(cli: CLI, *paths: Path) -> tuple[int, str]:
    result = cli("ingest", "--id-base", SYNTHETIC_BASE, *map(str, paths))
    return result.exit_code, result.output


def titles(cli: CLI) -> dict[str, str]:
    rows = json.loads(
        cli(
            "query",
            "--format",
            "json",
            "-",
            input=(
                "SELECT ?s ?title ?verified WHERE { ?s a emmie:Study ; emmie:reportedIn ?w ; "
                "emmie:verification ?verified . ?w dcterms:title ?title }"
            ),
        ).output
    )
    return {
        b["s"]["value"].rsplit("/", 1)[1]: b["title"]["value"] for b in rows["results"]["bindings"]
    }


def test_ris_import(cli: CLI) -> None:
    code, out = ingest(cli, FIXTURES / "bibliography" / "synthetic.ris")
    assert code == 0, out
    found = titles(cli)
    assert found["synth2021_alpha"] == "A synthetic trial of nothing in particular"
    assert found["placeholder2019_synthetic"] == "Synthetic report on placeholder services"
    unverified = cli(
        "query",
        "--format",
        "csv",
        "-",
        input=(
            "SELECT (COUNT(*) AS ?n) WHERE { ?s emmie:verification <https://w3id.org/whatworks/"
            "concept/verification/no> }"
        ),
    ).output.split()
    assert unverified[1] == "2"


def test_bibtex_import(cli: CLI) -> None:
    code, out = ingest(cli, FIXTURES / "bibliography" / "synthetic.bib")
    assert code == 0, out
    assert titles(cli) == {
        "synth2020beta": "A synthetic cohort study",
        "synth2018gamma": "Synthetic technical report",
    }


def test_bibtex_bad_doi_points_at_the_entry_line(cli: CLI, tmp_path: Path) -> None:
    path = tmp_path / "bad.bib"
    path.write_text(
        "@article{ok1, title={Fine}, year={2020}}\n\n"
        "@article{bad1,\n title={Odd},\n year={2020},\n doi={not-a-doi}\n}\n"
    )
    code, out = ingest(cli, path)
    assert code == 1, out
    assert "bad.bib, sheet bibliography, row 3, column doi" in out


def test_empty_bibliographies(cli: CLI, tmp_path: Path) -> None:
    for name in ("empty.ris", "empty.bib"):
        path = tmp_path / name
        path.write_text("nothing to see\n")
        code, out = ingest(cli, path)
        assert code == 2 and "no " in out and name in out


TURTLE = f"""
@prefix emmie: <https://w3id.org/whatworks/emmie#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<{SYNTHETIC_BASE}intervention/rdf1> a emmie:Intervention ; rdfs:label "From RDF" ;
    emmie:key "rdf1" .
"""


def test_rdf_import_each_format(cli: CLI, tmp_path: Path) -> None:
    graph = Graph().parse(data=TURTLE, format="turtle")
    for suffix, fmt in ((".ttl", "turtle"), (".nt", "nt"), (".jsonld", "json-ld"), (".rdf", "xml")):
        path = tmp_path / f"evidence{suffix}"
        graph.serialize(path, format=fmt, encoding="utf-8")
        code, out = ingest(cli, path)
        assert code == 0, (suffix, out)
    rows = cli(
        "query",
        "--format",
        "csv",
        "-",
        input=("SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s rdfs:label 'From RDF' } }"),
    ).output.split()
    assert rows[1] == "1", "all four files are the same graph name 'evidence'"


def test_rdf_blank_nodes_get_stable_iris(cli: CLI, tmp_path: Path) -> None:
    path = tmp_path / "blank.ttl"
    path.write_text(
        TURTLE + f"<{SYNTHETIC_BASE}intervention/rdf1> "
        '<http://purl.org/dc/terms/source> [ rdfs:label "a page" ] .\n'
    )
    for _ in range(2):
        assert ingest(cli, path)[0] == 0
    rows = cli(
        "query", "--format", "csv", "-", input=("SELECT ?b WHERE { ?x dcterms:source ?b }")
    ).output.split()
    assert len(rows) == 2 and rows[1].startswith("https://w3id.org/whatworks/graph/blank/genid/")


def test_rdf_that_breaks_the_shapes(cli: CLI, tmp_path: Path) -> None:
    path = tmp_path / "bad.ttl"
    path.write_text(TURTLE.replace('rdfs:label "From RDF" ;', ""))
    code, out = ingest(cli, path)
    assert code == 1, out
    assert "bad.ttl" in out and "rdf1" in out and "WW-" in out


def test_rdf_syntax_error_gives_the_line(cli: CLI, tmp_path: Path) -> None:
    path = tmp_path / "broken.ttl"
    path.write_text("@prefix ex: <http://example.org/> .\n\nex:a ex:b \n")
    code, out = ingest(cli, path)
    assert code != 0 and "broken.ttl" in out and "syntax" in out.lower()


def test_rdfxml_entity_declarations_are_refused(cli: CLI, tmp_path: Path) -> None:
    path = tmp_path / "bomb.rdf"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE rdf [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>\n'
    )
    code, out = ingest(cli, path)
    assert code == 2 and "DOCTYPE" in out


def test_jsonld_remote_context_is_not_fetched(cli: CLI, tmp_path: Path) -> None:
    path = tmp_path / "remote.jsonld"
    path.write_text(
        '{"@context": "http://127.0.0.1:9/context.jsonld", "@id": "'
        f'{SYNTHETIC_BASE}x", "label": "y"}}'
    )
    code, out = ingest(cli, path)
    assert code == 2 and "remote.jsonld" in out


GOLDEN = FIXTURES / "golden"


def test_golden_graph(tmp_path: Path) -> None:
    """The mapping of a fixed synthetic sheet equals the reviewed golden graph."""
    sources = read_sources(sorted(GOLDEN.glob("*.csv")), base=SYNTHETIC_BASE)
    built = Graph()
    for source in sources:
        built += source.graph
    expected = Graph().parse(GOLDEN / "expected.ttl")
    iso_built, iso_expected = to_isomorphic(built), to_isomorphic(expected)
    if iso_built != iso_expected:
        _, only_built, only_expected = graph_diff(iso_built, iso_expected)
        pytest.fail(
            "golden graph differs\nonly in built:\n"
            + only_built.serialize(format="nt")
            + "\nonly in expected:\n"
            + only_expected.serialize(format="nt")
        )


@pytest.mark.slow
@pytest.mark.parametrize(
    "count",
    [10_000, pytest.param(100_000, marks=pytest.mark.long, id="100000")],
    ids=str,
)
def test_many_rows_with_progress(tmp_path: Path, store_dir: Path, count: int) -> None:
    """A large sheet goes in with a progress bar: 10,000 rows in CI, 100,000 in the long run."""
    rows = [
        {"key": f"i{i}", "label": f"Synthetic intervention {i}", "intervention_type": "mentoring"}
        for i in range(count)
    ]
    path = write_sheet(tmp_path, "large.interventions", rows)
    done = run_command(
        store_dir, "ingest", "--progress", "--id-base", SYNTHETIC_BASE, str(path), timeout=900
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{count} records" in done.stdout
    assert "rows" in done.stderr, "a progress bar was shown"
