"""The query API over real HTTP: catalogue, answers, errors, OpenAPI, and the CLI agreeing."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import LiveServer, run_command
from whatworks.core.catalogue import catalogue


def api(server: LiveServer, path: str, **kwargs: Any) -> requests.Response:
    return requests.get(server.url + path, timeout=30, **kwargs)


def test_catalogue_lists_every_query(live_server: LiveServer) -> None:
    listed = api(live_server, "/api/queries").json()["queries"]
    assert {q["name"] for q in listed} == set(catalogue())
    wwfw = next(q for q in listed if q["name"] == "what_works_for_whom")
    outcome = next(p for p in wwfw["parameters"] if p["name"] == "outcome")
    assert outcome["required"] and outcome["allowed"] == ["entry", "re-entry", "reunification"]


def test_answer_carries_version_name_and_hash(live_server: LiveServer) -> None:
    response = api(
        live_server, "/api/queries/what_works_for_whom", params={"outcome": "reunification"}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    named = catalogue()["what_works_for_whom"]
    assert answer["query"] == "what_works_for_whom"
    assert answer["query_sha256"] == named.sha256 == response.headers["X-Query-SHA256"]
    assert (
        answer["dataset_version"]
        and answer["dataset_version"] == response.headers["X-Dataset-Version"]
    )
    assert answer["parameters"]["outcome"] == "reunification"
    assert answer["rows"], "the bundled base has reunification evidence"
    assert set(answer["columns"]) >= {"intervention", "direction_summary", "studies"}


def test_api_and_cli_return_the_same_rows(live_server: LiveServer, bundled_store: Path) -> None:
    params = {"outcome": "entry", "verified_only": "true"}
    from_api = api(live_server, "/api/queries/what_works_for_whom", params=params).json()
    done = run_command(
        bundled_store,
        "query",
        "what_works_for_whom",
        "--format",
        "json",
        *[f"--param={k}={v}" for k, v in params.items()],
    )
    assert done.returncode == 0, done.stderr
    from_cli = json.loads(done.stdout)
    # the API's rows carry more columns (estimates, headline, rating) and come by strength:
    # the .rq's columns agree, row for row
    assert from_api["columns"][: len(from_cli["columns"])] == from_cli["columns"]
    by_intervention = {r["intervention"]: r for r in from_api["rows"]}
    assert len(from_cli["rows"]) == len(by_intervention) == from_api["total"]
    for row in from_cli["rows"]:
        mine = {c: by_intervention[row["intervention"]][c] for c in from_cli["columns"]}
        for listed in ("studies", "dois"):
            mine[listed], row[listed] = (
                set((mine[listed] or "").split()),
                set((row[listed] or "").split()),
            )
        assert mine == row
    assert from_cli["query_sha256"] == from_api["query_sha256"]
    assert from_cli["dataset_version"] == from_api["dataset_version"]


def test_csv_by_suffix_and_by_accept(live_server: LiveServer) -> None:
    by_suffix = api(
        live_server, "/api/queries/what_works_for_whom.csv", params={"outcome": "reunification"}
    )
    by_accept = api(
        live_server,
        "/api/queries/what_works_for_whom",
        params={"outcome": "reunification"},
        headers={"Accept": "text/csv"},
    )
    assert by_suffix.headers["Content-Type"].startswith("text/csv")
    assert by_suffix.text == by_accept.text
    rows = list(csv.DictReader(io.StringIO(by_suffix.text)))
    assert rows and "direction_summary" in rows[0]


def test_sparql_json_by_accept(live_server: LiveServer) -> None:
    response = api(
        live_server,
        "/api/queries/what_works_for_whom",
        params={"outcome": "entry"},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert response.headers["Content-Type"].startswith("application/sparql-results+json")
    assert "bindings" in response.json()["results"]


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({}, 400, "outcome is required: one of entry, re-entry, reunification"),
        ({"outcome": "exit"}, 400, "allowed: entry, re-entry, reunification"),
        ({"outcome": "entry", "age": "old"}, 400, "whole number"),
        ({"outcome": "entry", "colour": "red"}, 400, "unknown parameter 'colour'"),
    ],
)
def test_bad_parameters(
    live_server: LiveServer, params: dict[str, str], status: int, fragment: str
) -> None:
    response = api(live_server, "/api/queries/what_works_for_whom", params=params)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"} and fragment in body["error"]["detail"]


def test_unknown_query_is_404(live_server: LiveServer) -> None:
    response = api(live_server, "/api/queries/what_works_for_nobody")
    assert response.status_code == 404
    assert "no query named" in response.json()["error"]["detail"]


def test_openapi_is_valid(live_server: LiveServer) -> None:
    from openapi_spec_validator import validate

    document = api(live_server, "/openapi.json").json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    for name in catalogue():
        assert f"/api/queries/{name}" in document["paths"]


def test_api_fuzzed(live_server: LiveServer, tmp_path: Path) -> None:
    """schemathesis (its CLI, a real HTTP client) finds no 5xx and no response that breaks
    the OpenAPI description, over every operation."""
    exe = Path(sys.executable).with_name("schemathesis")
    done = subprocess.run(
        [
            str(exe),
            "run",
            live_server.url + "/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,"
            "content_type_conformance",
            "--max-examples",
            "15",
            "--no-color",
            "--seed",
            "20261126",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,
    )
    report = done.stdout[-4000:]
    assert done.returncode == 0, report
    assert "16/16" in report or "Tested:" in report


# -- paging, caching, facets and the what-works answer -----------------------------------------


WWFW = "/api/queries/what_works_for_whom"


def test_limit_gives_a_page_a_total_and_a_working_next(live_server: LiveServer) -> None:
    whole = api(live_server, WWFW, params={"outcome": "entry", "limit": "500"}).json()
    assert whole["next"] is None and whole["total"] == len(whole["rows"]) > 4
    first = api(live_server, WWFW, params={"outcome": "entry", "limit": "2"})
    answer = first.json()
    assert len(answer["rows"]) == 2 and answer["total"] == whole["total"]
    assert (answer["limit"], answer["offset"]) == (2, 0)
    assert first.headers["Link"] == f'<{answer["next"]}>; rel="next"'
    seen = [r["intervention"] for r in answer["rows"]]
    url = answer["next"]
    while url:
        page = requests.get(url, timeout=30).json()
        assert len(page["rows"]) <= 2
        seen += [r["intervention"] for r in page["rows"]]
        url = page["next"]
    assert seen == [r["intervention"] for r in whole["rows"]]


@pytest.mark.parametrize("name", sorted(catalogue()))
def test_every_catalogue_query_pages(live_server: LiveServer, name: str) -> None:
    named = catalogue()[name]
    start = "https://w3id.org/whatworks/id/finding/fonagy2018_start-placement-18m"
    params = {p.name: p.allowed()[0] if p.allowed() else start for p in named.params if p.required}
    whole = api(live_server, f"/api/queries/{name}", params={**params, "limit": "500"}).json()
    one = api(live_server, f"/api/queries/{name}", params={**params, "limit": "1", "offset": "1"})
    assert one.status_code == 200, one.text
    assert one.json()["total"] == whole["total"]
    assert one.json()["rows"] == whole["rows"][1:2]
    csv_page = api(live_server, f"/api/queries/{name}.csv", params={**params, "limit": "1"})
    assert len(list(csv.DictReader(io.StringIO(csv_page.text)))) == min(1, whole["total"])
    assert ("Link" in csv_page.headers) == (whole["total"] > 1)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"limit": "501"}, "limit must be a whole number from 1 to the maximum 500; found '501'"),
        ({"limit": "0"}, "limit must be"),
        ({"offset": "-1"}, "offset must be a whole number 0 or more"),
        ({"offset": "x"}, "offset must be"),
    ],
)
def test_bad_paging_is_400(live_server: LiveServer, params: dict[str, str], fragment: str) -> None:
    response = api(live_server, WWFW, params={"outcome": "entry", **params})
    assert response.status_code == 400
    assert fragment in response.json()["error"]["detail"]


def test_etag_and_if_none_match(live_server: LiveServer) -> None:
    params = {"outcome": "entry", "limit": "3"}
    first = api(live_server, WWFW, params=params)
    tag = first.headers["ETag"]
    assert "must-revalidate" in first.headers["Cache-Control"]
    again = api(live_server, WWFW, params=params, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == tag
    other_page = api(
        live_server, WWFW, params={**params, "offset": "3"}, headers={"If-None-Match": tag}
    )
    assert other_page.status_code == 200 and other_page.headers["ETag"] != tag
    as_csv = api(live_server, WWFW + ".csv", params=params, headers={"If-None-Match": tag})
    assert as_csv.status_code == 200
    repeat = api(live_server, WWFW, params=params)
    assert repeat.json() == first.json() and repeat.headers["ETag"] == tag


def test_mst_row_carries_its_estimate_and_studies_by_name(live_server: LiveServer) -> None:
    answer = api(live_server, WWFW, params={"outcome": "entry"}).json()
    [mst] = [r for r in answer["rows"] if r["intervention"].endswith("/intervention/mst")]
    assert "OR 1.25 (95% CI 0.77 to 2.05)" in mst["headline_text"]
    assert any(
        (e["value"], e["ci_lower"], e["ci_upper"]) == (1.25, 0.77, 2.05) for e in mst["estimates"]
    )
    assert "Fonagy et al. 2018" in mst["study_names"]
    for row in answer["rows"]:
        assert row["rating"] and row["rating_label"] and row["rating_rule"], row["intervention"]
    assert mst["rating_rule"] == "https://w3id.org/whatworks/id/rule/evidence-tiers"
    start = next(e for e in mst["estimates"] if e["value"] == 1.25)
    assert start["sms_level"] == 5  # a randomised trial
    rule = api(live_server, "/id/rule/evidence-tiers", headers={"Accept": "text/html"})
    assert rule.status_code == 200
    text = api(live_server, WWFW + ".csv", params={"outcome": "entry"}).text
    [row] = [r for r in csv.DictReader(io.StringIO(text)) if r["intervention"].endswith("/mst")]
    assert "OR 1.25 (95% CI 0.77 to 2.05)" in row["headline_text"]
    assert "Fonagy et al. 2018: OR 1.25" in row["estimates"]
    assert row["rating"] == mst["rating"] and row["rating_rule"] == mst["rating_rule"]


def test_country_uk_finds_the_english_studies(live_server: LiveServer) -> None:
    england = api(live_server, WWFW, params={"outcome": "entry", "country": "England"}).json()
    uk = api(live_server, WWFW, params={"outcome": "entry", "country": "UK"}).json()
    assert uk["rows"] and [r["intervention"] for r in uk["rows"]] == [
        r["intervention"] for r in england["rows"]
    ]


def test_an_empty_answer_names_the_parameter(live_server: LiveServer) -> None:
    answer = api(live_server, WWFW, params={"outcome": "entry", "country": "Narnia"}).json()
    assert answer["rows"] == [] and answer["total"] == 0
    assert [e["parameters"] for e in answer["empty_because"]] == [["country"]]
    without = requests.get(answer["empty_because"][0]["url"], timeout=30).json()
    assert without["total"] == answer["empty_because"][0]["n_rows"] > 0
    assert "country" not in without["parameters"] or without["parameters"]["country"] is None


def test_every_value_a_facet_lists_gives_rows(live_server: LiveServer) -> None:
    for question in ({"outcome": "entry"}, {"outcome": "reunification", "country": "USA"}):
        response = api(live_server, WWFW + "/facets", params=question)
        assert response.status_code == 200, response.text
        facets = response.json()["facets"]
        assert facets["country"] or question.get("country")
        for name, values in facets.items():
            for value in values:
                answer = api(live_server, WWFW, params={**question, name: value["value"]}).json()
                assert answer["total"] == value["n_interventions"] > 0, (name, value)
    tag = response.headers["ETag"]
    again = api(live_server, WWFW + "/facets", params=question, headers={"If-None-Match": tag})
    assert again.status_code == 304
    bad = api(live_server, WWFW + "/facets", params={"outcome": "nowhere"})
    assert bad.status_code == 400


def test_an_answer_is_computed_once_per_version_and_question(
    bundled_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages, formats and repeats of one question are slices of one computed answer."""
    from whatworks.server import create_app, what_works

    calls: list[dict[str, str]] = []
    answer = what_works.answer

    def counted(given: dict[str, str]) -> Any:
        calls.append(dict(given))
        return answer(given)

    monkeypatch.setattr(what_works, "answer", counted)
    client = create_app({"store": str(bundled_store), "query_workers": 1}).test_client()
    for path in (
        WWFW + "?outcome=entry&limit=2",
        WWFW + "?outcome=entry&limit=2",
        WWFW + "?outcome=entry&limit=2&offset=2",
        WWFW + ".csv?outcome=entry",
        "/explore?outcome=entry",
    ):
        accept = "text/html" if path.startswith("/explore") else "*/*"
        assert client.get(path, headers={"Accept": accept}).status_code == 200, path
    assert calls == [{"outcome": "entry"}]
    client.get(WWFW + "?outcome=entry&country=UK")
    assert calls == [{"outcome": "entry"}, {"outcome": "entry", "country": "UK"}]
