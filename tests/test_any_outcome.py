"""A record that names no outcome counts under "any outcome" only (issue 15, item 8).

On the bundled base: FDAC's economic evidence (the pilot's lower cost, a record of the
economic sheet, which has no outcome column) must not appear as evidence on re-entry, nor
on reunification, where no source puts it: not on FDAC's what-works rows (the catalogue
query and the server's answer alike), not in the gap map's outcome cells, not in the EMMIE
ratings; it is counted under "any outcome" and its intervention's page lists it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.test_catalogue_answers import sheet
from whatworks.server.app import create_app

ID = "https://w3id.org/whatworks/id/"
OUTCOMES = ("entry", "re-entry", "reunification")


def fdac_economic() -> dict[str, str]:
    [row] = [r for r in sheet("economic") if r["intervention"] == "fdac"]
    assert not row.get("outcome")  # names no outcome (the sheet has no such column)
    return row


@pytest.fixture(scope="module")
def client(bundled_store: Path) -> Iterator[FlaskClient]:
    app = create_app({"store": str(bundled_store), "query_workers": 1})
    yield app.test_client()


def what_works_rows(client: FlaskClient, outcome: str, *, rq: bool) -> dict[str, dict[str, Any]]:
    """FDAC-keyed rows of the answer: from the .rq (SPARQL results) or the server's answer."""
    url = f"/api/queries/what_works_for_whom?outcome={outcome}"
    if rq:
        response = client.get(url, headers={"Accept": "application/sparql-results+json"})
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        bindings = response.get_json()["results"]["bindings"]
        rows = [{k: v["value"] for k, v in b.items()} for b in bindings]
    else:
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        rows = response.get_json()["rows"]
    return {r["intervention"].rsplit("/", 1)[-1]: r for r in rows}


@pytest.mark.parametrize("rq", [True, False], ids=["catalogue-query", "server-answer"])
@pytest.mark.parametrize("outcome", ["re-entry", "reunification"])
def test_fdac_economic_evidence_is_not_on_its_outcome_rows(
    client: FlaskClient, outcome: str, rq: bool
) -> None:
    item = fdac_economic()
    rows = what_works_rows(client, outcome, rq=rq)
    assert "fdac" in rows  # FDAC has findings on both outcomes, so a row on each
    row = rows["fdac"]
    assert str(row["emmie_economic"]).lower() == "false"
    assert item["description"] not in str(row.get("economic") or "")
    # The row does carry what is on the outcome: its effect evidence.
    assert int(row["n_findings"]) > 0


def test_fdac_economic_evidence_is_in_no_outcome_cell_of_the_gap_map(
    client: FlaskClient,
) -> None:
    item = fdac_economic()
    study = ID + "study/" + item["study"]
    response = client.get("/gap-map.json?expand=service_integration")
    assert response.status_code == 200
    gap = response.get_json()
    cells = [
        c
        for c in gap["cells"] + gap["intervention_cells"]
        if c["dimension"] == "economic" and c["intervention_type"] == "service_integration"
    ]
    assert {c["outcome"] for c in cells} == set(OUTCOMES)
    for cell in cells:
        assert study not in (cell["studies"] or []), (cell["intervention"], cell["outcome"])
    fdac = {c["outcome"]: c for c in cells if c["intervention"] == "fdac"}
    assert fdac["re-entry"]["n_studies"] == 0 and fdac["reunification"]["n_studies"] == 0
    # The cell's own list says the same.
    listed = client.get("/gap-map?cell=service_integration/fdac:re-entry:economic")
    assert listed.status_code == 200
    assert item["study"] not in listed.get_data(as_text=True).split('id="cell"', 1)[-1]


def test_records_on_no_outcome_count_under_any_outcome(client: FlaskClient) -> None:
    """The coverage's "any outcome" counts every study with an economic record (about an
    intervention or a type), FDAC's pilot among them, whatever outcome it names or not."""
    item = fdac_economic()
    studies = {r["study"] for r in sheet("economic")} | {
        r["study"] for r in sheet("emmie") if r["dimension"] == "economic"
    }
    assert item["study"] in studies
    gap = client.get("/gap-map.json").get_json()
    assert gap["coverage"]["economic"]["all"] == len(studies)
    # Every record about an intervention or a type that names no outcome is counted as
    # such (unplaced), and only there.
    no_outcome = [
        r
        for kind in ("findings", "mechanisms", "moderators", "implementation", "economic", "emmie")
        for r in sheet(kind)
        if (r.get("intervention") or r.get("intervention_type")) and not r.get("outcome")
    ]
    assert item in no_outcome
    assert gap["unplaced_records"] == len(no_outcome)
    # Narrowed to the pilot's year and country: still counted under "any outcome", and in
    # no outcome's economic column.
    [study] = [s for s in sheet("studies") if s["key"] == item["study"]]
    narrow = client.get(
        f"/gap-map.json?year_from={study['year']}&year_to={study['year']}"
        f"&country={study['country']}"
    ).get_json()
    assert narrow["coverage"]["economic"]["all"] >= 1
    assert not [
        c
        for c in narrow["cells"]
        if c["dimension"] == "economic" and ID + "study/" + item["study"] in (c["studies"] or [])
    ]


def test_the_intervention_page_lists_it_as_it_is(client: FlaskClient) -> None:
    item = fdac_economic()
    response = client.get("/id/intervention/fdac", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert item["description"] in response.get_data(as_text=True)


def test_no_emmie_rating_rests_on_it(client: FlaskClient) -> None:
    """The derived EMMIE ratings of FDAC on re-entry and reunification (economic) have no
    evidence, and none is derived from the economic record."""
    item = fdac_economic()
    record = ID + "economic-evidence/" + item["key"]
    for outcome in ("re-entry", "reunification"):
        rating = f"{ID}emmie-rating/fdac/{outcome}/economic"
        response = client.get(
            "/sparql",
            query_string={
                "query": "PREFIX prov: <http://www.w3.org/ns/prov#> "
                "PREFIX emmie: <https://w3id.org/whatworks/emmie#> "
                f"SELECT ?count ?from WHERE {{ GRAPH ?g {{ <{rating}> emmie:studyCount ?count "
                f"OPTIONAL {{ <{rating}> prov:wasDerivedFrom ?from }} }} }}"
            },
            headers={"Accept": "application/sparql-results+json"},
        )
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        bindings = json.loads(response.get_data(as_text=True))["results"]["bindings"]
        assert bindings, rating  # the rating exists (FDAC has findings on the outcome)
        assert {b["count"]["value"] for b in bindings} == {"0"}
        assert record not in {b.get("from", {}).get("value") for b in bindings}


def test_the_explorer_shows_no_economic_evidence_on_fdac_re_entry(client: FlaskClient) -> None:
    item = fdac_economic()
    response = client.get("/explore?outcome=re-entry", headers={"Accept": "text/html"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Family Drug and Alcohol Court" in html  # FDAC's row is there
    assert item["description"] not in html
    assert "EMMIE profile on re-entry" in html
