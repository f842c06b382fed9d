"""The gap map's counts are aggregated by the store; these tests hold them to the rule of
docs/pages.md written out plainly over the records (one row per record, placed in Python),
on a synthetic base rich enough to have EMMIE-Q levels and directions; and check what keeps
the pages usable on a large base: the summaries kept per dataset version, the intervention
rows of the expanded types only, a selected cell's list capped, and downloads narrowed by
``expand`` and ``studies``."""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.synthetic import generate
from tests.conftest import LiveServer, ingest_synthetic
from whatworks.core.namespaces import sparql_prologue
from whatworks.core.store import EmbeddedStore

OUTCOMES = ("entry", "re-entry", "reunification")

# The rule, one row per record and outcome, as the map used to read it before the counts
# moved into the store (the test's own copy: it must not share code with the server).
RECORDS = """
SELECT DISTINCT ?item ?dimension ?study ?type ?intervention ?own_outcome ?direction ?rank
       ?design ?country ?verification ?year
WHERE {
  {
    ?item a emmie:EmmieCoding ; emmie:dimension ?dimension .
    OPTIONAL { ?item emmie:qualityLevel ?level .
               BIND(xsd:integer(REPLACE(STR(?level), "^.*/", "")) AS ?rank) }
  } UNION {
    VALUES (?record_class ?dimension) {
      (emmie:Finding <https://w3id.org/whatworks/concept/emmie-dimension/effect>)
      (emmie:Mechanism <https://w3id.org/whatworks/concept/emmie-dimension/mechanism>)
      (emmie:Moderator <https://w3id.org/whatworks/concept/emmie-dimension/moderators>)
      (emmie:ImplementationFactor <https://w3id.org/whatworks/concept/emmie-dimension/implementation>)
      (emmie:EconomicEvidence <https://w3id.org/whatworks/concept/emmie-dimension/economic>)
    }
    ?item a ?record_class .
  }
  ?item emmie:fromStudy ?study .
  { ?item emmie:aboutIntervention ?intervention . ?intervention emmie:interventionType ?type }
  UNION { ?item emmie:aboutInterventionType ?type }
  OPTIONAL { ?item emmie:outcome ?own_outcome }
  OPTIONAL { ?item emmie:direction ?direction }
  OPTIONAL { ?study emmie:design ?design }
  OPTIONAL { ?study emmie:country ?country }
  OPTIONAL { ?study emmie:verification ?verification }
  OPTIONAL { ?study emmie:reportedIn/emmie:publicationYear ?year }
}
"""
FILTERS = [
    {},
    {"design": "rct", "verified": "true"},
    {"country": "ENGL"},
    {"year_from": "2010", "year_to": "2018"},
]


def tail(term: object) -> str:
    return str(term).rstrip("/").rsplit("/", 1)[-1]


def keeps(row: dict[str, Any], filters: dict[str, str]) -> bool:
    if "design" in filters and tail(row.get("design") or "") != filters["design"]:
        return False
    if (
        "country" in filters
        and filters["country"].lower() not in str(row.get("country") or "").lower()
    ):
        return False
    if "verified" in filters and tail(row.get("verification") or "") != "yes":
        return False
    year = row.get("year")
    if "year_from" in filters and (year is None or int(year) < int(filters["year_from"])):
        return False
    return not ("year_to" in filters and (year is None or int(year) > int(filters["year_to"])))


def stored_records(store: Path) -> list[dict[str, str]]:
    """Every EMMIE record of the store, by the reference query, as strings."""
    view = EmbeddedStore(store, read_only=True)
    try:
        return [
            {k: str(v) for k, v in row.items()} for row in view.select(sparql_prologue() + RECORDS)
        ]
    finally:
        view.close()


def expected_cells(store: Path, filters: dict[str, str]) -> dict[tuple[str, str, str, str], Any]:
    """(type, intervention or "", outcome, dimension) -> (studies, records, best, direction)."""
    records = stored_records(store)
    studies: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    items: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    ranks: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)
    directions: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)  # row, outcome, study
    for row in records:
        if not keeps(row, filters):
            continue
        # A record is on its own outcome only; one with none is on no outcome (counted
        # under "any outcome", never in these cells).
        own = row.get("own_outcome")
        placed = {tail(own)} if own else set()
        rows = [(tail(row["type"]), "")]
        if row.get("intervention"):
            rows.append((tail(row["type"]), tail(row["intervention"])))
        for outcome in placed & set(OUTCOMES):
            for kind, intervention in rows:
                key = (kind, intervention, outcome, tail(row["dimension"]))
                studies[key].add(row["study"])
                items[key].add(row["item"])
                if row.get("rank") is not None:
                    ranks[key].append(int(row["rank"]))
                if row.get("direction") and key[3] == "effect":
                    directions[(kind, intervention, outcome, row["study"])].add(
                        tail(row["direction"])
                    )
    out = {}
    for key, found in studies.items():
        seen = set().union(*(directions.get((*key[:3], s), set()) for s in found))
        readable = seen & {"favourable", "unfavourable", "no_effect"}
        direction = (
            "none"
            if not seen
            else "unclear"
            if not readable
            else "mixed"
            if len(readable) > 1
            else readable.pop()
        )
        best = max(ranks[key]) if ranks[key] else None
        out[key] = (sorted(found), len(items[key]), best, direction)
    return out


def expected_any_outcome(store: Path, filters: dict[str, str]) -> tuple[dict[str, int], int]:
    """Per dimension, the studies with a record on any outcome or none (the coverage's
    ``all``); and the number of records on no outcome (``unplaced_records``)."""
    records = stored_records(store)
    studies: dict[str, set[str]] = defaultdict(set)
    unplaced: dict[str, set[str]] = defaultdict(set)
    for row in records:
        if keeps(row, filters):
            studies[tail(row["dimension"])].add(row["study"])
            if not row.get("own_outcome"):
                unplaced[tail(row["dimension"])].add(row["item"])
    return {d: len(s) for d, s in studies.items()}, sum(len(i) for i in unplaced.values())


@pytest.fixture(scope="module")
def synthetic_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gap-map-scale")
    summary = generate(folder / "sheets", size="10k", seed=11)
    store = folder / "store"
    ingest_synthetic(store, summary.files)
    return store


@pytest.fixture(scope="module")
def server(synthetic_store: Path) -> Iterator[LiveServer]:
    live = LiveServer(synthetic_store)
    yield live
    live.stop()


def get(server: LiveServer, path: str, accept: str = "application/json") -> tuple[int, bytes]:
    request = urllib.request.Request(server.url + path, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.parametrize(
    "filters", FILTERS, ids=lambda f: "&".join(f"{k}={v}" for k, v in f.items()) or "none"
)
def test_counts_follow_the_record_level_rule(
    server: LiveServer, synthetic_store: Path, filters: dict[str, str]
) -> None:
    query = "?" + "&".join(f"{k}={v}" for k, v in filters.items()) if filters else ""
    status, body = get(server, "/gap-map.json" + query)
    assert status == 200, body[:300]
    answer = json.loads(body)
    got = {
        (c["intervention_type"], c["intervention"] or "", c["outcome"], c["dimension"]): (
            c["studies"],
            c["n_records"],
            c["best_quality"],
            c["direction"],
        )
        for c in answer["cells"] + answer["intervention_cells"]
        if c["n_studies"]
    }
    expected = expected_cells(synthetic_store, filters)
    assert got == expected
    # Records with no outcome are in the "any outcome" counts (and only there).
    any_outcome, unplaced = expected_any_outcome(synthetic_store, filters)
    assert {d: c["all"] for d, c in answer["coverage"].items() if c["all"]} == any_outcome
    assert answer["unplaced_records"] == unplaced
    # The base is rich enough for the comparison to mean something.
    assert expected
    if not filters:
        assert len(expected) > 100
        assert {v[3] for v in expected.values()} >= {"favourable", "mixed"}
        assert any(v[2] is not None for v in expected.values())
        assert unplaced > 0


def test_downloads_narrow_by_expand_and_studies(server: LiveServer) -> None:
    _, whole = get(server, "/gap-map.json")
    full = json.loads(whole)
    kinds = {c["intervention_type"] for c in full["intervention_cells"]}
    assert len(kinds) > 1
    one = sorted(kinds)[0]
    status, body = get(server, f"/gap-map.json?expand={one}&studies=false")
    assert status == 200
    narrowed = json.loads(body)
    assert {c["intervention_type"] for c in narrowed["intervention_cells"]} == {one}
    assert all("studies" not in c for c in narrowed["cells"] + narrowed["intervention_cells"])
    strip = [{k: v for k, v in c.items() if k != "studies"} for c in full["cells"]]
    assert narrowed["cells"] == strip
    assert get(server, "/gap-map.json?expand=no_such_type")[0] == 400
    assert get(server, "/gap-map.csv?studies=maybe")[0] == 400


def test_summaries_follow_a_new_version(synthetic_store: Path, tmp_path: Path) -> None:
    """Answers are kept per dataset version: an ingest shows at once."""
    store = tmp_path / "store"
    shutil.copytree(synthetic_store, store)
    live = LiveServer(store)
    try:
        before = json.loads(get(live, "/gap-map.json")[1])
        assert json.loads(get(live, "/gap-map.json")[1]) == before
        sheets = generate(tmp_path / "more", size="10k", seed=11).files
        findings = [p for p in sheets if p.name.endswith("findings.csv")][0]
        # Drop half the findings: the effect cells must shrink.
        lines = findings.read_text("utf-8").splitlines(keepends=True)
        findings.write_text("".join(lines[: len(lines) // 2]), "utf-8")
        ingest_synthetic(store, [findings])
        after = json.loads(get(live, "/gap-map.json")[1])
        # The server computes the summaries ahead of readers, at start and for the new
        # version (`whatworks serve` starts it; see server.gap_map.keep_warm).
        current = json.loads(get(live, "/health")[1])["version"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready = re.findall(r"summaries of version (\S+) ready", live.log.read_text())
            if current in ready and len(set(ready)) >= 2:
                break
            time.sleep(0.2)
        assert current in ready and len(set(ready)) >= 2, live.log.read_text()[-2000:]
    finally:
        live.stop()

    def effect(answer: dict[str, Any]) -> int:
        return sum(c["n_records"] for c in answer["cells"] if c["dimension"] == "effect")

    assert effect(after) < effect(before)


def test_a_large_base_draws_expanded_rows_only(
    synthetic_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the inline limit, the page holds the interventions of the expanded types only
    (expanding reloads), and a selected cell lists its first studies and says how many."""
    from whatworks.server import create_app, gap_map

    monkeypatch.setattr(gap_map, "INLINE_INTERVENTIONS", 5)
    monkeypatch.setattr(gap_map, "CELL_STUDY_LIMIT", 3)
    monkeypatch.setattr(gap_map, "PAGE_INTERVENTIONS", 2)
    app = create_app({"store": str(synthetic_store), "query_workers": 1})
    client = app.test_client()
    collapsed = client.get("/gap-map", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'class="sub-row"' not in collapsed
    answer = client.get("/gap-map.json").get_json()
    kind = answer["intervention_cells"][0]["intervention_type"]
    expanded = client.get(f"/gap-map?expand={kind}", headers={"Accept": "text/html"})
    text = expanded.get_data(as_text=True)
    parents = re.findall(r'<tr class="sub-row"[^>]* data-parent="([^"]+)"', text)
    assert set(parents) == {kind}
    n = sum(1 for c in answer["interventions"] if c["intervention_type"] == kind)
    assert n > 2  # PAGE_INTERVENTIONS: the two with most studies, and a note saying so
    assert len(parents) == 2
    assert f"The 2 of {n} interventions of this type" in text
    busiest = max(answer["cells"], key=lambda c: c["n_studies"])
    assert busiest["n_studies"] > 3
    key = f"{busiest['intervention_type']}:{busiest['outcome']}:{busiest['dimension']}"
    page = client.get(f"/gap-map?cell={key}", headers={"Accept": "text/html"})
    html = page.get_data(as_text=True)
    assert f"The first 3 of {busiest['n_studies']} studies" in html
    assert html.count('class="study-link"') == 3
