"""The pages and resource IRIs over raw HTTP, against a real server on the bundled base:
content negotiation for every format, 404s, the explorer's and gap map's data views."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest
from rdflib import Graph, URIRef

from tests.conftest import LiveServer

STUDY = "https://w3id.org/whatworks/id/study/chambers2019_parent_partner"
STUDY_PATH = "/id/study/chambers2019_parent_partner"


def fetch(
    server: LiveServer, path: str, accept: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(server.url + path)
    if accept is not None:
        request.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


RDF_CASES = [
    ("text/turtle", "turtle"),
    ("application/ld+json", "json-ld"),
    ("application/n-triples", "nt"),
    ("application/rdf+xml", "xml"),
]
FROM_STUDY = "https://w3id.org/whatworks/emmie#fromStudy"


def triples(body: bytes, media: str) -> set[tuple[str, str, str]]:
    """The triples of ``body`` (parsed with pyoxigraph: rdflib's JSON-LD parser warns)."""
    import pyoxigraph as ox

    return {
        (t.subject.value, t.predicate.value, t.object.value)
        for t in ox.parse(body, format=ox.RdfFormat.from_media_type(media))
    }


@pytest.mark.parametrize(("media", "parser"), RDF_CASES)
def test_resource_by_accept(live_server: LiveServer, media: str, parser: str) -> None:
    status, headers, body = fetch(live_server, STUDY_PATH, accept=media)
    assert status == 200
    assert headers["Content-Type"].startswith(media)
    assert "Accept" in headers["Vary"]
    assert headers["Content-Location"].startswith(STUDY_PATH + ".")
    graph = triples(body, media)
    assert any(s == STUDY for s, _, _ in graph)
    # The description holds the study's findings and their provenance.
    findings = {s for s, p, o in graph if p == FROM_STUDY and o == STUDY}
    assert len(findings) >= 4
    derived = {s for s, p, _ in graph if p == "http://www.w3.org/ns/prov#wasDerivedFrom"}
    assert findings <= derived


@pytest.mark.parametrize(
    ("suffix", "media"),
    [
        (".ttl", "text/turtle"),
        (".jsonld", "application/ld+json"),
        (".nt", "application/n-triples"),
        (".rdf", "application/rdf+xml"),
        (".html", "text/html"),
    ],
)
def test_resource_by_suffix(live_server: LiveServer, suffix: str, media: str) -> None:
    status, headers, _ = fetch(live_server, STUDY_PATH + suffix, accept="text/html")
    assert status == 200
    assert headers["Content-Type"].startswith(media)


@pytest.mark.parametrize(
    ("name", "media"),
    [
        ("ttl", "text/turtle"),
        ("jsonld", "application/ld+json"),
        ("nt", "application/n-triples"),
        ("rdfxml", "application/rdf+xml"),
        ("html", "text/html"),
    ],
)
def test_resource_by_format_parameter(live_server: LiveServer, name: str, media: str) -> None:
    status, headers, _ = fetch(live_server, f"{STUDY_PATH}?format={name}")
    assert status == 200
    assert headers["Content-Type"].startswith(media)


def test_browsers_get_html_with_schema_org(live_server: LiveServer) -> None:
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    status, headers, body = fetch(live_server, STUDY_PATH, accept=accept)
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    html = body.decode()
    embedded = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert embedded
    data = json.loads(embedded.group(1))
    assert data["@context"] == "https://schema.org"
    assert data["@id"] == STUDY
    assert data["citation"]["sameAs"].startswith("https://doi.org/10.1016/")
    # bibliographic record, findings with interval, EMMIE coding, provenance
    for text in (
        "Outcomes of the Iowa Parent Partner",
        "Findings",
        "EMMIE coding",
        "not rated",
        "field-findings.csv, sheet findings, row",
        "fully verified",
    ):
        assert text in html, text


def test_finding_page_shows_effect_and_interval(live_server: LiveServer) -> None:
    status, _, body = fetch(live_server, "/id/finding/fonagy2018_start-placement-18m")
    assert status == 200
    html = body.decode()
    assert "odds ratio" in html.lower() and "CI" in html and "<svg" in html


def test_unknown_iri_is_404_in_json_and_html(live_server: LiveServer) -> None:
    status, headers, body = fetch(
        live_server, "/id/study/no-such-study", accept="application/ld+json"
    )
    assert status == 404
    error = json.loads(body)["error"]
    assert error["status"] == 404 and "no-such-study" in error["detail"]
    status, headers, body = fetch(live_server, "/id/study/no-such-study", accept="text/html")
    assert status == 404 and headers["Content-Type"].startswith("text/html")


def test_unacceptable_format_is_406(live_server: LiveServer) -> None:
    status, _, body = fetch(live_server, STUDY_PATH, accept="image/png")
    assert status == 406
    assert json.loads(body)["error"]["status"] == 406
    status, _, _ = fetch(live_server, STUDY_PATH + "?format=pdf")
    assert status == 406


def test_explore_json_is_the_catalogue_answer(live_server: LiveServer) -> None:
    question = "?outcome=reunification&verified_only=true"
    _, _, mine = fetch(live_server, "/explore.json" + question)
    _, _, api = fetch(live_server, "/api/queries/what_works_for_whom" + question)
    assert json.loads(mine)["rows"] == json.loads(api)["rows"]
    status, headers, by_accept = fetch(
        live_server, "/explore" + question, accept="application/json"
    )
    assert status == 200 and json.loads(by_accept)["rows"] == json.loads(api)["rows"]
    status, _, body = fetch(live_server, "/explore.json?outcome=nowhere")
    assert status == 400 and "allowed" in json.loads(body)["error"]["detail"]


def test_gap_map_downloads_agree(live_server: LiveServer) -> None:
    _, _, body = fetch(live_server, "/gap-map.json")
    cells = json.loads(body)["cells"]
    assert len(cells) == 8 * 3 * 5
    _, headers, text = fetch(live_server, "/gap-map.csv")
    assert headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(text.decode())))
    both = cells + json.loads(body)["intervention_cells"]
    assert {
        (r["level"], r["intervention_type"], r["intervention"], r["outcome"], r["dimension"]): int(
            r["n_studies"]
        )
        for r in rows
    } == {
        (
            c["level"],
            c["intervention_type"],
            c["intervention"] or "",
            c["outcome"],
            c["dimension"],
        ): c["n_studies"]
        for c in both
    }
    assert len(rows) == len(both)
    assert sum(c["n_studies"] for c in cells) > 0


def _cli_select(store: Path, query: str) -> list[dict[str, str]]:
    """Rows of a SPARQL SELECT run by the CLI (``whatworks query -``, CSV)."""
    exe = Path(sys.executable).with_name("whatworks")
    done = subprocess.run(
        [str(exe), "--store", str(store), "query", "-", "--format", "csv"],
        input=query,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return list(csv.DictReader(io.StringIO(done.stdout)))


def test_gap_map_types_expand_to_interventions(live_server: LiveServer) -> None:
    _, _, body = fetch(live_server, "/gap-map.json")
    data = json.loads(body)
    finances = {
        i["intervention"]
        for i in data["interventions"]
        if i["intervention_type"] == "family_finances"
    }
    assert {"eitc_expansion", "state_eitc"} <= finances
    rows = {c["intervention"] for c in data["intervention_cells"]}
    assert finances <= rows
    assert all(c["level"] == "intervention" for c in data["intervention_cells"])
    assert len(data["intervention_cells"]) == len(data["interventions"]) * 3 * 5
    # The table holds every intervention row without JavaScript (hidden until expanded),
    # under a real button that says whether it is expanded and what it controls.
    _, _, page = fetch(live_server, "/gap-map", accept="text/html")
    html = page.decode()
    button = re.search(r'<button[^>]*class="expander" data-type="family_finances"[^>]*>', html)
    assert button and 'aria-expanded="false"' in button.group(0)
    controls = re.search(r'aria-controls="([^"]+)"', button.group(0))
    assert controls
    for intervention in finances:
        row_id = f"r-family_finances-{intervention}"
        assert row_id in controls.group(1).split()
        assert re.search(rf'<tr class="sub-row" id="{row_id}"[^>]* hidden>', html)
    assert "Earned Income Tax Credit expansion" in html
    # Expanded by the URL (no script): the rows are shown and the button says so.
    _, _, page = fetch(live_server, "/gap-map?expand=family_finances", accept="text/html")
    html = page.decode()
    assert re.search(r'<tr class="sub-row" id="r-family_finances-eitc_expansion"[^>]*>', html)
    assert not re.search(r'id="r-family_finances-eitc_expansion"[^>]* hidden>', html)
    assert re.search(r'aria-expanded="true" aria-controls="r-family_finances-', html)
    # An intervention's cell lists its studies.
    cell = "family_finances/eitc_expansion:entry:effect"
    _, _, page = fetch(live_server, "/gap-map?" + urlencode({"cell": cell}), accept="text/html")
    assert "eitc_arra2009_reh" in page.decode()


def test_intervention_counts_match_sparql(live_server: LiveServer, bundled_store: Path) -> None:
    """Effect cells of intervention rows: the studies with a finding about the intervention on
    that outcome (findings always state their outcome), counted by SPARQL through the CLI."""
    _, _, body = fetch(live_server, "/gap-map.json")
    data = json.loads(body)
    mine = {
        (c["intervention"], c["outcome"]): c["n_studies"]
        for c in data["intervention_cells"]
        if c["dimension"] == "effect" and c["n_studies"]
    }
    rows = _cli_select(
        bundled_store,
        """SELECT ?intervention ?outcome (COUNT(DISTINCT ?study) AS ?n) WHERE {
          ?finding a emmie:Finding ; emmie:fromStudy ?study ; emmie:outcome ?outcome ;
                   emmie:aboutIntervention ?intervention .
          ?intervention emmie:interventionType ?type .
        } GROUP BY ?intervention ?outcome""",
    )
    counted = {
        (r["intervention"].rsplit("/", 1)[-1], r["outcome"].rsplit("/", 1)[-1]): int(r["n"])
        for r in rows
    }
    assert mine == counted
    assert mine[("eitc_expansion", "entry")] >= 1


def test_emmie_coverage_chart(live_server: LiveServer, bundled_store: Path) -> None:
    _, _, body = fetch(live_server, "/gap-map.json")
    data = json.loads(body)
    coverage = data["coverage"]
    # Overall: studies with a record of the dimension about a typed intervention or a type.
    rows = _cli_select(
        bundled_store,
        """SELECT ?dimension (COUNT(DISTINCT ?study) AS ?n) WHERE {
          { ?item a emmie:EmmieCoding ; emmie:dimension ?dimension . }
          UNION {
            VALUES (?class ?dimension) {
              (emmie:Finding <https://w3id.org/whatworks/concept/emmie-dimension/effect>)
              (emmie:Mechanism <https://w3id.org/whatworks/concept/emmie-dimension/mechanism>)
              (emmie:Moderator <https://w3id.org/whatworks/concept/emmie-dimension/moderators>)
              (emmie:ImplementationFactor <https://w3id.org/whatworks/concept/emmie-dimension/implementation>)
              (emmie:EconomicEvidence <https://w3id.org/whatworks/concept/emmie-dimension/economic>)
            }
            ?item a ?class .
          }
          ?item emmie:fromStudy ?study .
          { ?item emmie:aboutIntervention/emmie:interventionType ?type }
          UNION { ?item emmie:aboutInterventionType ?type }
        } GROUP BY ?dimension""",
    )
    counted = {r["dimension"].rsplit("/", 1)[-1]: int(r["n"]) for r in rows}
    assert {d: c["all"] for d, c in coverage.items() if c["all"]} == counted
    # Per outcome: the studies of that outcome's cells, over all types.
    for dimension, counts in coverage.items():
        for outcome in ("entry", "re-entry", "reunification"):
            studies = {
                s
                for c in data["cells"]
                if c["dimension"] == dimension and c["outcome"] == outcome
                for s in c["studies"]
            }
            assert counts[outcome] == len(studies), (dimension, outcome)
    # The landing page and the gap map draw it (SVG with title and desc) and table it.
    for path in ("/", "/gap-map"):
        _, _, page = fetch(live_server, path, accept="text/html")
        html = page.decode()
        chart = re.search(r'<svg id="coverage"[^>]*role="img"[^>]*>(.*?)</svg>', html, re.S)
        assert chart, path
        assert '<title id="coverage-title">' in chart.group(1)
        assert f"effect: {coverage['effect']['all']} studies" in chart.group(1)
        for dimension, counts in coverage.items():
            cell = re.search(
                rf'data-dimension="{dimension}" data-series="any outcome">(\d+)<', html
            )
            assert cell and int(cell.group(1)) == counts["all"], (path, dimension)


def test_gap_map_filters_narrow(live_server: LiveServer) -> None:
    _, _, everything = fetch(live_server, "/gap-map.json")
    _, _, verified = fetch(live_server, "/gap-map.json?verified=true&design=rct")
    total = sum(c["n_studies"] for c in json.loads(everything)["cells"])
    narrowed = sum(c["n_studies"] for c in json.loads(verified)["cells"])
    assert 0 < narrowed < total
    status, _, _ = fetch(live_server, "/gap-map.json?year_from=19x")
    assert status == 400


def test_ontology_by_negotiation(live_server: LiveServer) -> None:
    status, headers, body = fetch(live_server, "/ontology", accept="text/turtle")
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    assert (URIRef("https://w3id.org/whatworks/emmie"), None, None) in Graph().parse(
        data=body, format="turtle"
    )
    status, headers, body = fetch(live_server, "/ontology", accept="text/html")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"Study" in body


def test_pages_make_no_external_references(live_server: LiveServer) -> None:
    for path in (
        "/",
        "/explore?outcome=entry",
        "/gap-map",
        "/sparql-editor",
        STUDY_PATH,
        "/ontology",
    ):
        status, _, body = fetch(live_server, path, accept="text/html")
        assert status == 200, path
        html = body.decode()
        loaded = re.findall(r'<(?:script|img|link|iframe)[^>]+(?:src|href)="(https?:[^"]+)"', html)
        assert loaded == [], (path, loaded)


def test_local_authorities_page(live_server: LiveServer) -> None:
    from html.parser import HTMLParser

    status, headers, body = fetch(live_server, "/local-authorities", accept="text/html")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    html = body.decode("utf-8")
    assert "Children looked after by local authority, 2012–2017: the seed's panel" in html

    class Rows(HTMLParser):
        """The region table's rows (area → direction) and the LA table's row count."""

        def __init__(self) -> None:
            super().__init__()
            self.table = ""
            self.area = ""
            self.cell = ""
            self.in_direction = False
            self.directions: dict[str, str] = {}
            self.la_rows = 0

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if tag == "table":
                self.table = a.get("id") or ""
            elif tag == "tr" and self.table == "region-table" and a.get("data-area"):
                self.area = a["data-area"] or ""
            elif tag == "tr" and self.table == "la-table" and a.get("data-gss"):
                self.la_rows += 1
            elif tag == "td" and a.get("class") == "direction":
                self.in_direction = True

        def handle_data(self, data: str) -> None:
            if self.in_direction:
                self.directions[self.area] = data.strip()
                self.in_direction = False

    parsed = Rows()
    parsed.feed(html)
    assert parsed.directions["Inner London"] == "falling"
    assert parsed.directions["North East"] == "rising"
    assert parsed.directions["North West"] == "rising"
    assert parsed.la_rows == 151
    assert '<svg id="region-trend"' in html and 'class="sparkline"' in html
    # Each LA links to its own page here (its ONS IRI is shown there, as a link out); the
    # associations carry the caveat.
    assert 'href="/local-authorities/E09000007"' in html
    assert "Area-level associations between local authorities" in html
    assert re.search(
        r"<td>\d+</td><td>[+-]\d+\.\d\d</td><td>[+-]\d+\.\d\d to [+-]\d+\.\d\d</td>", html
    )


def test_pages_of_evidence_minted_elsewhere(sheets: Path, tmp_path: Path) -> None:
    """Interventions ingested with another --id-base have no page here: the gap map and the
    explorer list them without a link (they used to fail with 500)."""
    import requests

    from tests.conftest import SYNTHETIC_BASE, run_command

    store = tmp_path / "synthetic-store"
    done = run_command(
        store, "ingest", "--id-base", SYNTHETIC_BASE, *map(str, sorted(sheets.iterdir()))
    )
    assert done.returncode == 0, done.stderr
    server = LiveServer(store, env={"WHATWORKS_QUERY_TIMEOUT": "120"})
    try:
        for path in ("/gap-map?expand=mentoring", "/explore?outcome=entry"):
            response = requests.get(server.url + path, timeout=120)
            assert response.status_code == 200, (path, response.text[:300])
            assert "Synthetic intervention" in response.text, path
            assert 'href="None"' not in response.text
    finally:
        server.stop()


def test_explorer_card_shows_estimates_by_author_and_year(live_server: LiveServer) -> None:
    status, _, body = fetch(live_server, "/explore?outcome=entry", accept="text/html")
    assert status == 200
    html = body.decode()
    card = html[html.index('data-intervention="https://w3id.org/whatworks/id/intervention/mst"') :]
    card = card[: card.index("</article>")]
    assert "OR 1.25 (95% CI 0.77 to 2.05)" in card
    assert ">Fonagy et al. 2018</a>" in card and 'title="fonagy2018_start"' in card
    assert "<svg" in card  # two odds ratios: a forest plot
    assert "sha256" not in html
    assert ">fonagy2018_start<" not in html  # keys only in tooltips and links


def test_explorer_says_which_filter_emptied_the_answer(live_server: LiveServer) -> None:
    _, _, body = fetch(live_server, "/explore?outcome=entry&country=Narnia", accept="text/html")
    html = body.decode()
    assert "Without country (Narnia): " in html
    assert 'href="/explore?outcome=entry"' in html


def test_explorer_controls_list_only_values_that_give_rows(live_server: LiveServer) -> None:
    _, _, body = fetch(live_server, "/explore?outcome=entry", accept="text/html")
    html = body.decode()
    needs = re.search(r'<select id="f-need".*?</select>', html, re.S)
    assert needs
    offered = re.findall(r'<option value="([a-z_]+)"', needs.group(0))
    facets = json.loads(
        fetch(live_server, "/api/queries/what_works_for_whom/facets?outcome=entry")[2]
    )["facets"]["need"]
    assert offered == [v["value"] for v in facets] and "low_income" not in offered
    assert re.search(r"\(\d+\)</option>", needs.group(0))


def test_explorer_pages(live_server: LiveServer) -> None:
    _, _, body = fetch(live_server, "/explore?outcome=entry&limit=2", accept="text/html")
    html = body.decode()
    assert html.count('<article class="result"') == 2
    link = re.search(r'<a rel="next" href="([^"]+)"', html)
    assert link
    _, _, second = fetch(live_server, link.group(1).replace("&amp;", "&"), accept="text/html")
    assert second.decode().count('<article class="result"') == 2
    assert 'rel="prev"' in second.decode()
