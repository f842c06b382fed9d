"""The bundled evidence base: it loads, validates, is consistent with the ontology, and keeps
what the sources say (verification status, proxies, unknowns) as they say it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import SKOS

from tests.conftest import CLI
from whatworks.core.config import bundled_evidence
from whatworks.core.reasoner import check_consistency
from whatworks.core.store import open_store, union_graph
from whatworks.ingest.mapping import STATISTIC_CLASSES

ROOT = Path(__file__).resolve().parents[1]
SHARED_STUDIES = ROOT.parent / "shared" / "data" / "studies" / "studies.csv"


@pytest.fixture(scope="module")
def loaded_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from click.testing import CliRunner

    from whatworks.cli import main

    store = tmp_path_factory.mktemp("bundled") / "store"
    result = CliRunner().invoke(main, ["--store", str(store), "load"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return store


def select(store: Path, query: str) -> list[dict[str, str]]:
    from whatworks.core.namespaces import sparql_prologue

    opened = open_store(store, read_only=True)
    try:
        return [
            {k: str(v) for k, v in row.items()} for row in opened.select(sparql_prologue() + query)
        ]
    finally:
        opened.close()


def test_bundled_files_are_shipped() -> None:
    names = {p.name for p in bundled_evidence()}
    assert {"field-studies.csv", "field-findings.csv", "seed-survey.csv"} <= names


def test_load_then_validate_exits_zero(loaded_store: Path, store_dir: Path, cli: CLI) -> None:
    assert cli("load", "-q").exit_code == 0
    result = cli("validate")
    assert result.exit_code == 0, result.output
    assert "conforms" in result.output


def test_every_study_of_the_shared_file_is_there(loaded_store: Path) -> None:
    rows = select(
        loaded_store,
        "SELECT ?key ?verified WHERE { ?s a emmie:Study ; emmie:key ?key ;"
        " emmie:verification ?verified }",
    )
    found = {r["key"]: r["verified"].rsplit("/", 1)[1] for r in rows}
    if SHARED_STUDIES.exists():
        with SHARED_STUDIES.open(encoding="utf-8") as handle:
            shared = {r["key"]: r["verified"] for r in csv.DictReader(handle)}
        for key, verified in shared.items():
            assert found.get(key) == verified, key
    assert len(found) == 35, "32 studies of the field and 3 more from the seed"


def test_each_intervention_description_names_studies_that_evaluate_it(
    loaded_store: Path,
) -> None:
    """data/README.md: a description says only what the studies of the intervention (and
    the seed) say, and its note names those studies."""
    rows = select(
        loaded_store,
        "SELECT ?key ?note ?description WHERE { ?i a emmie:Intervention ; emmie:key ?key ;"
        " emmie:note ?note ; dcterms:description ?description }",
    )
    evaluates = select(
        loaded_store,
        "SELECT ?study ?intervention WHERE { ?s emmie:evaluates ?i ; emmie:key ?study ."
        " ?i emmie:key ?intervention }",
    )
    evaluated_by: dict[str, set[str]] = {}
    for row in evaluates:
        evaluated_by.setdefault(row["intervention"], set()).add(row["study"])
    assert len(rows) == 21, "every bundled intervention has a description and a note"
    for row in rows:
        _, marker, named = row["note"].partition("Description cut to what studies.csv says of ")
        assert marker, f"{row['key']}: the note does not say where the description comes from"
        keys = {k.strip(" .") for k in named.split(", and the seed summary")[0].split(";")}
        assert keys and keys <= evaluated_by.get(row["key"], set()), (row["key"], keys)


def test_proxies_are_flagged(loaded_store: Path) -> None:
    rows = select(
        loaded_store,
        "SELECT ?key ?proxy WHERE { ?f a emmie:Finding ; emmie:key ?key ;"
        " emmie:fromStudy/emmie:key ?study ; emmie:outcomeMeasure/emmie:isProxy ?proxy"
        " FILTER(?study IN ('cancian2013_child_support', 'chaffin2012_safecare',"
        " 'dawe2007_pup')) }",
    )
    assert rows and all(r["proxy"] == "true" for r in rows)


def test_no_quality_level_is_invented(loaded_store: Path) -> None:
    rows = select(loaded_store, "SELECT (COUNT(*) AS ?n) WHERE { ?c emmie:qualityLevel ?q }")
    assert rows[0]["n"] == "0"


def test_seed_figures_are_as_the_seed_states(loaded_store: Path) -> None:
    rows = select(
        loaded_store,
        "SELECT ?year ?value WHERE { ?s a emmie:ReportedStatistic ; "
        "emmie:referenceYear ?year ; emmie:value ?value } ORDER BY ?year",
    )
    assert [(r["year"], float(r["value"])) for r in rows] == [("1997", 50900.0), ("2017", 72670.0)]
    shares = select(
        loaded_store,
        "SELECT ?p WHERE { ?s a emmie:SurveyProportion ; "
        "emmie:proportion ?p ; emmie:respondents 60 }",
    )
    assert sorted(float(r["p"]) for r in shares) == [0.433, 0.567, 0.617, 0.817]
    themes = select(
        loaded_store,
        "SELECT ?role (COUNT(*) AS ?n) WHERE { ?s a "
        "emmie:InterviewTheme ; emmie:factorRole ?role } GROUP BY ?role",
    )
    assert sorted(int(r["n"]) for r in themes) == [6, 6]


def test_bundled_base_is_consistent_with_the_ontology(loaded_store: Path) -> None:
    """HermiT on the coded evidence and the derived graph.

    The local-authority statistics (5,595 Data Cube observations) are checked by their SHACL
    shapes instead: HermiT's time grows much faster than the data (2.3 s at 850
    individuals, over 200 s at 7,000, ../shared/BASELINES.md), so it checks the ontology
    and the evidence, where its axioms (disjointness, functional properties) bite.
    """
    store = open_store(loaded_store, read_only=True)
    try:
        data = [
            g
            for g in store.graph_names()
            if not str(g).endswith("/provenance") and "/graph/la-" not in str(g)
        ]
        graph = union_graph(store, data)
    finally:
        store.close()
    report = check_consistency(graph)
    assert report.consistent, report.message
    assert not report.unsatisfiable_classes


def test_statistic_classes_match_the_ontology() -> None:
    ontology = Graph().parse(ROOT / "ontology" / "emmie.ttl")
    for code, stato in STATISTIC_CLASSES.items():
        concept = URIRef(f"https://w3id.org/whatworks/concept/statistic/{code}")
        assert (concept, SKOS.exactMatch, stato) in ontology, code


def test_stats_json(loaded_store: Path) -> None:
    from click.testing import CliRunner

    from whatworks.cli import main

    result = CliRunner().invoke(main, ["--store", str(loaded_store), "stats", "--json"])
    stats = json.loads(result.output)
    assert stats["classes"]["https://w3id.org/whatworks/emmie#Study"] == 35
    assert stats["version"]
