"""The local-authority statistics cube (ingest/la_statistics.py), its queries and the
area-level analysis, on the bundled data of data/la/."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from rdflib import Graph

from whatworks.analysis.area_analysis import analyse
from whatworks.core.catalogue import get
from whatworks.core.namespaces import sparql_prologue
from whatworks.core.store import EmbeddedStore, open_store
from whatworks.core.validation import validate
from whatworks.ingest.la_statistics import UnmatchedName, read_statistics

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "la"
GEO = "http://statistics.data.gov.uk/id/statistical-geography/"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from click.testing import CliRunner

    from whatworks.cli import main

    store = tmp_path_factory.mktemp("la") / "store"
    result = CliRunner().invoke(main, ["--store", str(store), "load", "-q"])
    assert result.exit_code == 0, result.output
    return store


@pytest.fixture
def store(loaded: Path) -> EmbeddedStore:
    opened = open_store(loaded, read_only=True)
    assert isinstance(opened, EmbeddedStore)
    return opened


def select(store: EmbeddedStore, query: str) -> list[dict[str, str]]:
    try:
        return [
            {k: str(v) for k, v in row.items() if v is not None}
            for row in store.select(sparql_prologue() + query)
        ]
    finally:
        store.close()


def ask(store: EmbeddedStore, name: str, **params: str) -> list[dict[str, str]]:
    query = get(name)
    try:
        return [
            {k: str(v) for k, v in row.items() if v is not None}
            for row in store.select(query.sparql(), parameters=query.bindings(params))
        ]
    finally:
        store.close()


def test_the_cube_passes_its_shapes() -> None:
    data = Graph()
    for source in read_statistics(DATA):
        data += source.graph
    report = validate(data)
    assert report.conforms, [r.message for r in report.results[:5]]
    assert report.results == ()


def test_no_two_observations_of_one_area_year_and_measure(store: EmbeddedStore) -> None:
    rows = select(
        store,
        "SELECT ?a ?y ?m WHERE { ?o qb:dataSet ?d ; emmie:refArea ?a ; emmie:refYear ?y ;"
        " qb:measureType ?m } GROUP BY ?a ?y ?m HAVING (COUNT(?o) > 1)",
    )
    assert rows == []


def test_observations_carry_the_sdmx_dimensions_too(store: EmbeddedStore) -> None:
    # Materialised for clients that know only SDMX-RDF (docs/decisions/0016-...).
    rows = select(
        store,
        "PREFIX sdmx-dimension: <http://purl.org/linked-data/sdmx/2009/dimension#> "
        "SELECT (COUNT(?o) AS ?n) (SUM(IF(?same, 1, 0)) AS ?matching) WHERE { "
        "?o qb:dataSet ?d ; emmie:refArea ?a ; emmie:refYear ?y . "
        "OPTIONAL { ?o sdmx-dimension:refArea ?sa ; sdmx-dimension:refPeriod ?sp } "
        "BIND(COALESCE(?sa = ?a && DATATYPE(?sp) = xsd:gYear && STR(?sp) = STR(?y), false)"
        " AS ?same) }",
    )
    assert int(rows[0]["n"]) > 1000
    assert rows[0]["matching"] == rows[0]["n"]


def test_suppressed_cells_have_no_value(store: EmbeddedStore) -> None:
    rows = select(
        store,
        "SELECT ?o ?m ?v WHERE { ?o emmie:observationStatus "
        "<https://w3id.org/whatworks/concept/observation-status/suppressed> ; qb:measureType ?m"
        " OPTIONAL { ?o ?m ?v } }",
    )
    assert rows, "the DfE files suppress some cells"
    assert all("v" not in r for r in rows)


def test_official_and_derived_rates_are_different_measures(store: EmbeddedStore) -> None:
    rows = select(
        store,
        "SELECT ?y ?m ?s (COUNT(?o) AS ?n) WHERE { ?o qb:measureType ?m ; emmie:refYear ?y ;"
        " emmie:observationStatus ?s FILTER(?m IN (emmie:lookedAfterRateOfficial,"
        " emmie:lookedAfterRateDerived) && ?y <= 2017) } GROUP BY ?y ?m ?s",
    )
    found = {(r["y"], r["m"].rsplit("#")[1], r["s"].rsplit("/")[-1]) for r in rows}
    assert found == {
        ("2013", "lookedAfterRateDerived", "derived"),
        ("2014", "lookedAfterRateDerived", "derived"),
        ("2015", "lookedAfterRateOfficial", "official"),
        ("2016", "lookedAfterRateOfficial", "official"),
        ("2017", "lookedAfterRateOfficial", "official"),
    }


def test_inner_london_fell_and_the_north_rose(store: EmbeddedStore) -> None:
    rows = ask(store, "looked_after_trend_by_region")
    change = {r["area_label"]: int(r["change"]) for r in rows}
    assert change["Inner London"] < 0
    assert change["North East"] > 0
    assert change["North West"] > 0
    assert len(change) == 11


def test_the_national_2017_total_is_the_dfe_files(store: EmbeddedStore) -> None:
    with (DATA / "raw_dfe_sfr" / "SFR50_CLA2017.csv").open(encoding="utf-8-sig") as handle:
        dfe = next(
            int(r["CLA_Mar2017"]) for r in csv.DictReader(handle) if r["geog_l"] == "NATIONAL"
        )
    assert dfe == 72670
    rows = ask(store, "looked_after_trend_by_region", level="england")
    assert [int(r["count_to"]) for r in rows] == [dfe]


def test_code_changes_are_handled(store: EmbeddedStore) -> None:
    rows = select(
        store,
        "SELECT ?la ?old ?code WHERE { ?la a emmie:LocalAuthority ; emmie:formerGssCode ?old ;"
        " emmie:dfeCode ?code }",
    )
    assert {(r["la"], r["old"], r["code"]) for r in rows} == {
        (GEO + "E08000037", "E08000020", "390"),
        (GEO + "E06000057", "E06000048", "929"),
    }


def test_every_local_authority_has_its_ofsted_judgement(store: EmbeddedStore) -> None:
    rows = ask(store, "looked_after_change_by_ofsted")
    assert sum(int(r["authorities"]) for r in rows) == 151


def test_an_unmatched_ofsted_name_fails_loudly(tmp_path: Path) -> None:
    folder = tmp_path / "la"
    shutil.copytree(DATA, folder)
    ofsted = folder / "ofsted_la_childrens_services_inspections_2009_2023.csv"
    lines = ofsted.read_text(encoding="utf-8").splitlines()
    lines.insert(1, lines[1].replace("Barking and Dagenham", "Barking & Dagenham", 1))
    ofsted.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(UnmatchedName) as raised:
        read_statistics(folder)
    message = str(raised.value)
    assert ofsted.name in message and "row 2" in message and "Barking & Dagenham" in message


def test_innovation_programme_is_flagged_partial(store: EmbeddedStore) -> None:
    rows = ask(store, "approaches_used_by_local_authorities", include_successor="true")
    programme = [r for r in rows if r["source_kind"] == "innovation_programme"]
    assert programme and all(r["list_completeness"].endswith("/partial") for r in programme)
    assert any(r["successor_programme"] == "true" for r in programme)
    assert any(r["source_kind"] == "survey" for r in rows)


def test_the_area_analysis_reports_n_and_intervals(store: EmbeddedStore) -> None:
    try:
        result = analyse(store)
    finally:
        store.close()
    assert "area-level" in result.caveat.lower()
    assert result.authorities == 151
    assert len(result.associations) == 10
    for association in result.associations:
        assert association.n in (148, 151)
        assert association.ci_lower < association.estimate < association.ci_upper


def test_the_national_series_sits_beside_the_first_releases(store: EmbeddedStore) -> None:
    """1997 and 2017: DfE's revised series (an observation of England, its graph derived
    from the EES file) beside the seed's first-release figures (with the study quoting them)."""
    rows = select(
        store,
        "SELECT ?year ?revised ?file ?first ?note ?study WHERE {"
        " GRAPH ?g { ?o emmie:refArea <" + GEO + "E92000001> ; emmie:refYear ?year ;"
        "   emmie:childrenLookedAfterRevisedSeries ?revised }"
        " ?g prov:wasDerivedFrom/dcterms:title ?file ."
        " ?s a emmie:ReportedStatistic ; emmie:referenceYear ?year ; emmie:value ?first ;"
        "   emmie:releaseNote ?note ; emmie:fromStudy ?study ."
        "} ORDER BY ?year",
    )
    found = {
        r["year"]: (int(r["revised"]), int(float(r["first"])), r["note"], r["study"], r["file"])
        for r in rows
    }
    assert {y: v[:2] for y, v in found.items()} == {"1997": (50880, 50900), "2017": (72600, 72670)}
    for _, _, note, study, file in found.values():
        assert file == "ees_cla_time_series_1994_2023.csv"
        assert "first release" in note
        assert study.endswith("/wwcsc_summary")
    with (DATA / "raw_dfe_sfr" / "ees_cla_time_series_1994_2023.csv").open(
        encoding="utf-8-sig"
    ) as handle:
        dfe = {
            r["time_period"]: int(r["number"])
            for r in csv.DictReader(handle)
            if r["population_count"] == "Children looked after at 31 March"
            and r["geographic_level"] == "National"
        }
    assert (dfe["1997"], dfe["2017"]) == (50880, 72600)
