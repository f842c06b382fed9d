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
    assert from_cli["rows"] == from_api["rows"]
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
