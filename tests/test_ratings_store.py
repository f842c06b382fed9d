"""Evidence ratings computed by rule on the bundled base, end to end: in the derived graph
with their provenance, agreeing with the rule applied to the coding sheets themselves; the
rules dereferenced; the gap map coloured by them; studies named by author and year."""

from __future__ import annotations

import csv
import json
import re
import urllib.error
import urllib.request
from collections import defaultdict
from html import unescape
from pathlib import Path
from urllib.parse import urlencode

import pyoxigraph as ox
import pytest

from server.citation import author_year, surname
from tests.conftest import LiveServer
from whatworks.analysis.ratings import (
    EVIDENCE_TIERS,
    MARYLAND_SMS,
    SMS_LABELS,
    TIER_LABELS,
    FindingEvidence,
    evidence_tier,
    sms_level,
)
from whatworks.core.namespaces import sparql_prologue
from whatworks.core.store import open_store

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE = ROOT / "data" / "evidence"
ID = "https://w3id.org/whatworks/id/"


def fetch(server: LiveServer, path: str, accept: str | None = None) -> tuple[int, str, str]:
    request = urllib.request.Request(server.url + path)
    if accept:
        request.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def select(store: Path, query: str) -> list[dict[str, str]]:
    opened = open_store(store, read_only=True)
    try:
        rows = opened.select(sparql_prologue() + query)
        return [{k: str(v) for k, v in row.items() if v is not None} for row in rows]
    finally:
        opened.close()


def _rows(pattern: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for path in sorted(EVIDENCE.glob(pattern)):
        with path.open(newline="", encoding="utf-8") as handle:
            out += list(csv.DictReader(handle))
    return out


# ---------------------------------------------------------------------- the derived graph


def test_tiers_in_the_store_are_the_rule_applied_to_the_sheets(bundled_store: Path) -> None:
    # The expected tiers come from the CSV files, not the store: reading, mapping and the
    # derived-graph query must carry every design, direction, follow-up and proxy flag.
    designs = {s["key"]: s["design"] for s in _rows("*studies.csv")}
    findings: dict[tuple[str, str], list[FindingEvidence]] = defaultdict(list)
    for f in _rows("*findings.csv"):
        if not f["intervention"]:
            continue
        design = designs.get(f["study"], "")
        findings[(f["intervention"], f["outcome"])].append(
            FindingEvidence(
                direction=f["direction"],
                sms=sms_level(design) if design else None,
                follow_up_months=float(f["follow_up_months"]) if f["follow_up_months"] else None,
                proxy=f["proxy"] != "no",
                study=f["study"],
            )
        )
    expected = {pair: evidence_tier(found).code for pair, found in findings.items()}
    stored = {
        (r["i"].rsplit("/", 1)[1], r["o"].rsplit("/", 1)[1]): r["tier"].rsplit("/", 1)[1]
        for r in select(
            bundled_store,
            """SELECT ?i ?o ?tier WHERE { GRAPH graph:derived {
                 ?r a emmie:EvidenceRating ; emmie:aboutIntervention ?i ; emmie:outcome ?o ;
                    emmie:ratingLevel ?tier } }""",
        )
    }
    assert stored == expected
    assert len(set(stored.values())) >= 3  # the map has something to show


def test_ratings_are_derived_from_their_findings_and_rule(bundled_store: Path) -> None:
    rows = select(
        bundled_store,
        """SELECT ?r ?rule (COUNT(DISTINCT ?f) AS ?n) (COUNT(DISTINCT ?all) AS ?findings)
           WHERE {
             GRAPH graph:derived {
               ?r a emmie:EvidenceRating ; emmie:ratingRule ?rule ; prov:wasDerivedFrom ?rule ;
                  emmie:aboutIntervention ?i ; emmie:outcome ?o ; prov:wasDerivedFrom ?f ;
                  prov:wasGeneratedBy ?activity ; emmie:criterionNotChecked ?unchecked .
             }
             ?f a emmie:Finding .
             ?all a emmie:Finding ; emmie:aboutIntervention ?i ; emmie:outcome ?o .
           } GROUP BY ?r ?rule""",
    )
    assert rows
    for row in rows:
        assert row["rule"] == str(EVIDENCE_TIERS)
        assert row["n"] == row["findings"], row  # every finding of the pair, no other
    designs = select(
        bundled_store,
        """SELECT ?f ?r ?level ?rule ?study WHERE {
             ?f a emmie:Finding ; emmie:aboutIntervention ?i ; emmie:fromStudy ?study .
             ?study emmie:design ?design .
             OPTIONAL { GRAPH graph:derived {
               ?r emmie:aboutFinding ?f ; emmie:ratingRule ?rule ;
                  prov:wasDerivedFrom ?f, ?study, ?rule .
               OPTIONAL { ?r emmie:ratingLevel ?level } } }
           }""",
    )
    assert designs
    for row in designs:
        assert row.get("rule") == str(MARYLAND_SMS), row  # every such finding is rated
        assert row["r"].startswith(ID + "design-rating/")
    # a design with no SMS level gets no level, and says why
    unrated = select(
        bundled_store,
        """SELECT ?r ?design ?why WHERE {
             GRAPH graph:derived { ?r a emmie:DesignRating ; emmie:aboutFinding ?f .
               FILTER NOT EXISTS { ?r emmie:ratingLevel ?level }
               OPTIONAL { ?r emmie:evidenceMissing ?why } }
             ?f emmie:fromStudy/emmie:design ?design }""",
    )
    assert unrated  # the bundled base has reviews and programme evaluations
    for row in unrated:
        code = row["design"].rsplit("/", 1)[1]
        assert sms_level(code) is None, row
        assert row.get("why", "").startswith("no Maryland SMS level: "), row
    # the rules themselves are in the derived graph, with their sources
    for rule in (MARYLAND_SMS, EVIDENCE_TIERS):
        found = select(
            bundled_store,
            f"""SELECT ?source WHERE {{ GRAPH graph:derived {{
                 <{rule}> a emmie:RatingRule ; dcterms:description ?d ; dcterms:source ?source
               }} }}""",
        )
        assert any(r["source"].startswith("https://") for r in found)


def test_no_curator_level_is_made_up(bundled_store: Path) -> None:
    # Computed ratings never become EMMIE-Q levels: the bundled base has none coded.
    rows = select(bundled_store, "SELECT ?x WHERE { ?x emmie:qualityLevel ?l }")
    assert rows == []


# ----------------------------------------------------------------------------------- pages


@pytest.mark.parametrize("rule", [MARYLAND_SMS, EVIDENCE_TIERS])
def test_rules_dereference_in_html_and_turtle(live_server: LiveServer, rule: str) -> None:
    path = "/id/" + str(rule)[len(ID) :]
    status, media, html = fetch(live_server, path, accept="text/html")
    assert status == 200 and media.startswith("text/html")
    assert "rating rule" in html.lower() and "computed by rule" in html.lower()
    assert 'href="https://' in html  # its published source, as a link
    status, media, turtle = fetch(live_server, path, accept="text/turtle")
    assert status == 200 and media.startswith("text/turtle")
    triples = list(ox.parse(turtle.encode(), format=ox.RdfFormat.TURTLE))
    subject = ox.NamedNode(str(rule))
    predicates = {t.predicate.value for t in triples if t.subject == subject}
    assert "http://purl.org/dc/terms/description" in predicates
    assert "http://purl.org/dc/terms/source" in predicates


def test_finding_and_study_pages_show_their_design_rating(live_server: LiveServer) -> None:
    finding = next(f for f in _rows("field-findings.csv") if f["study"] == "fonagy2018_start")
    for path in (f"/id/finding/{finding['key']}", "/id/study/fonagy2018_start"):
        status, _, html = fetch(live_server, path, accept="text/html")
        assert status == 200
        assert "Design ratings, computed by rule" in html
        assert "computed by rule, not a curator&#39;s rating" in html
        assert SMS_LABELS[5] in html  # an RCT
        assert 'href="/id/rule/maryland-sms"' in html
    _, _, html = fetch(live_server, "/id/study/fonagy2018_start", accept="text/html")
    assert re.search(r"<h1>Fonagy et al\. 2018: ", html)


def test_gap_map_is_coloured_by_the_computed_tier(live_server: LiveServer) -> None:
    _, _, body = fetch(live_server, "/gap-map.json")
    data = json.loads(body)
    effect = [
        c for c in data["intervention_cells"] if c["dimension"] == "effect" and c["n_studies"] > 0
    ]
    assert effect
    for cell in effect:  # every intervention's effect cell with findings is rated
        assert cell["rating"] in TIER_LABELS, cell
        assert cell["rating_rule"] == str(EVIDENCE_TIERS)
        assert cell["rating_by"] == "computed by rule"
    assert all(c["rating"] is None for c in data["cells"] if c["dimension"] != "effect")
    assert len({c["rating"] for c in effect}) > 1
    # The default page colours the bubbles by the tier: more than one colour, a legend
    # that says "computed by rule" and links the rule.
    _, _, html = fetch(live_server, "/gap-map", accept="text/html")
    svg = html[html.index('<svg id="gap-svg"') : html.index("</svg>", html.index("gap-svg"))]
    fills = set(re.findall(r'<circle cx="[^"]+" cy="[^"]+" r="[^"]+" fill="([^"]+)"', svg))
    assert len(fills) > 2, fills
    assert "computed by rule" in html and 'href="/id/rule/evidence-tiers"' in html
    # the other colourings are still there
    for colour in ("quality", "direction"):
        status, _, _ = fetch(live_server, f"/gap-map?colour={colour}", accept="text/html")
        assert status == 200
    status, _, _ = fetch(live_server, "/gap-map?colour=rainbow", accept="text/html")
    assert status == 400


def test_gap_map_labels_are_not_cut_off(live_server: LiveServer) -> None:
    _, _, html = fetch(live_server, "/gap-map", accept="text/html")
    svg = html[html.index('<svg id="gap-svg"') : html.index("</svg>", html.index("gap-svg"))]
    labels = " ".join(
        unescape(re.sub(r"<[^>]+>", " ", m))
        for m in re.findall(r'class="row-label[^"]*">(.*?)</text>', svg)
    )
    assert "…" not in labels
    words = " ".join(labels.split())
    for row in _rows("field-interventions.csv"):
        if not row["intervention_type"]:
            continue  # not on the map: it has no row
        assert " ".join(row["label"].split()) in words, row["label"]


def test_a_cell_names_its_studies_by_author_and_year(live_server: LiveServer) -> None:
    _, _, body = fetch(live_server, "/gap-map.json")
    cell = next(
        c
        for c in json.loads(body)["intervention_cells"]
        if c["dimension"] == "effect" and c["n_studies"] > 0 and c["intervention"] == "mst"
    )
    key = f"{cell['intervention_type']}/mst:{cell['outcome']}:effect"
    _, _, html = fetch(live_server, "/gap-map?" + urlencode({"cell": key}), accept="text/html")
    listed = html[html.index('id="cell"') :]
    studies = {s["key"]: s for s in _rows("*studies.csv")}
    for study in cell["studies"]:
        row = studies[study.rsplit("/", 1)[1]]
        first = surname(row["authors"].split(";")[0])
        assert f"{first} et al. {row['year']}" in listed  # the START reports have 3+ authors
        if row["doi"]:
            assert f'href="https://doi.org/{row["doi"]}"' in listed
    assert "randomised" in listed and SMS_LABELS[5] in listed
    assert "(computed by rule)" in listed


@pytest.mark.parametrize(
    ("authors", "year", "expected"),
    [
        ("Fonagy P; Butler S; Cottrell D; ... Goodyer IM", "2018", "Fonagy et al. 2018"),
        ("Dawe S; Harnett P", "2007", "Dawe and Harnett 2007"),
        ("Westat", "2002", "Westat 2002"),
        ("Harwin J; et al.", "2016", "Harwin 2016"),
        ("Littell JH; Schuerman JR", "", "Littell and Schuerman (no year coded)"),
        ("", "2017", ""),
    ],
)
def test_author_year(authors: str, year: str, expected: str) -> None:
    assert author_year(authors, year) == expected
