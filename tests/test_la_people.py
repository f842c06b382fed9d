"""``/local-authorities`` for people, over real HTTP on the bundled base: the official rates
carry the regional trend to the latest year of the data, the "London down, North up"
sentence is the data's (checked here against the LAIT file itself), labels not codes, no
region name cut off, every authority linked to its own page here, and a table that sorts
and searches with JavaScript and is a plain table without it."""

from __future__ import annotations

import csv
import re
import urllib.error
import urllib.request
from collections import defaultdict
from html import unescape
from pathlib import Path

import pytest

from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[1]
LAIT = ROOT / "data" / "la" / "lait_selected_measures_2015_2025_long.csv"
#: LAIT's names of the aggregates read → the names of the base.
AGGREGATES = {
    "England": "England",
    "North East": "North East",
    "North West": "North West",
    "Yorkshire and the Humber": "Yorkshire and The Humber",
    "East Midlands": "East Midlands",
    "West Midlands": "West Midlands",
    "East of England": "East of England",
    "London": "London",
    "London (Inner)": "Inner London",
    "London (Outer)": "Outer London",
    "South East": "South East",
    "South West": "South West",
}


def get(server: LiveServer, path: str) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(server.url + path, headers={"Accept": "text/html"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode("utf-8")


@pytest.fixture(scope="module")
def official() -> dict[str, dict[int, float]]:
    """Region (the base's name) → year → official rate, read from the LAIT file."""
    rates: dict[str, dict[int, float]] = defaultdict(dict)
    with LAIT.open(encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            if (
                row["measure_code"] == "LAC"
                and row["la_number"] >= "970"
                and row["area_name"] in AGGREGATES
            ):
                rates[AGGREGATES[row["area_name"]]][int(row["year"])] = float(row["value"])
    return rates


@pytest.fixture(scope="module")
def page(live_server: LiveServer) -> str:
    status, headers, html = get(live_server, "/local-authorities")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    return html


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def test_the_trend_runs_to_the_latest_year_of_the_data(
    page: str, official: dict[str, dict[int, float]]
) -> None:
    latest = max(official["London"])
    h1 = _text(re.search(r"<h1>(.*?)</h1>", page, re.S).group(1))  # type: ignore[union-attr]
    assert h1 == f"Children looked after by local authority, 2012–{latest}"
    table = page.split('id="rate-table"', 1)[1].split("</table>", 1)[0]
    assert len(re.findall(r"<th scope=\"col\" class=\"num\">\d{4}</th>", table)) == len(
        official["London"]
    )
    for area, by_year in official.items():
        row = re.search(rf'<tr data-area="{area}">(.*?)</tr>', table, re.S)
        assert row, area
        cells = [_text(c) for c in re.findall(r'<td class="num">(.*?)</td>', row.group(1))]
        assert cells == [f"{by_year[y]:.0f}" for y in sorted(by_year)], area
    # the seed's 2012-2017 analysis is kept, and said to be the seed's
    assert "Children looked after by local authority, 2012–2017: the seed's panel" in page
    assert "Area-level associations (the seed's analysis, 2012–2017)" in page


def test_the_answer_to_london_down_north_up_is_the_datas(
    page: str, official: dict[str, dict[int, float]]
) -> None:
    latest = max(official["London"])
    answer = _text(page.split('id="seed-claim"', 1)[1].split("</p>", 1)[0])
    north = ("North East", "North West", "Yorkshire and The Humber")
    for area in ("London", *north):
        first, last = official[area][2017], official[area][latest]
        assert f"{area} {first:.0f} → {last:.0f} ({last - first:+.0f})" in answer, area
    holds = official["London"][latest] < official["London"][2017] and all(
        official[a][latest] > official[a][2017] for a in north
    )
    assert f"From 2017 to {latest}" in answer
    assert ("“London down, North up” still holds." in answer) is holds
    # a northern rate below its highest since 2017 is named, with that year
    for area in north:
        since = {y: v for y, v in official[area].items() if y >= 2017}
        peak = max(since.values())
        year = min(y for y, v in since.items() if v == peak)
        assert (f"{area} {peak:.0f} in {year}" in answer) is (peak > since[latest]), area


def test_labels_not_codes(page: str) -> None:
    text = _text(page)
    assert "requires_improvement" not in text
    assert "Ofsted judgement: requires improvement to be good (compared with good)" in text
    assert "requires improvement to be good" in page.split('id="la-table"', 1)[1]


def test_no_region_name_is_cut_off(page: str) -> None:
    for ident in ("region-rates", "region-trend"):
        svg = re.search(rf'<svg id="{ident}"[^>]*width="(\d+)"(.*?)</svg>', page, re.S)
        assert svg, ident
        width = int(svg.group(1))
        labels = re.findall(r'<text x="([\d.]+)"[^>]*class="line-label">([^<]+)</text>', svg[2])
        assert len(labels) == 11, ident  # nine regions, Inner and Outer London
        assert any(t.startswith("Yorkshire and The Humber ") for _, t in labels)
        for x, text in labels:  # 12 px text: at most 0.62 em a character
            assert float(x) + len(unescape(text)) * 12 * 0.62 <= width, (ident, text)
    # in the tables, names are never wrapped mid-name (the table scrolls instead)
    regions = page.split('id="rate-table"', 1)[1].split("</table>", 1)[0]
    assert '<th scope="row" class="area-name">Yorkshire and The Humber</th>' in regions


def test_names_do_not_wrap(live_server: LiveServer) -> None:
    _, _, css = get(live_server, "/static/whatworks.css")
    assert "th.area-name, td.area-name { white-space: nowrap; }" in css


def test_every_authority_links_to_its_own_page_here(live_server: LiveServer, page: str) -> None:
    table = page.split('id="la-table"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(
        r'<tr data-gss="(E\d{8})"><th scope="row" class="area-name">'
        r'<a href="([^"]+)">([^<]+)</a>',
        table,
    )
    assert len(rows) == 151
    assert all(href == f"/local-authorities/{gss}" for gss, href, _ in rows)
    assert "statistics.data.gov.uk" not in table
    status, _, html = get(live_server, "/local-authorities/E08000037")
    assert status == 200
    assert "<h1>Gateshead</h1>" in html and "E08000020" in html  # its former code
    assert 'href="http://statistics.data.gov.uk/id/statistical-geography/E08000037"' in html
    with LAIT.open(encoding="utf-8-sig") as handle:
        rates = {
            int(r["year"]): float(r["value"])
            for r in csv.DictReader(handle)
            if r["measure_code"] == "LAC" and r["la_number"] == "390" and r["value"] != "-"
        }
    years = page_years(html)
    for year, rate in rates.items():
        assert years[year][3] == (f"{rate:.0f}" if rate.is_integer() else f"{rate:.1f}"), year
    status, _, html = get(live_server, "/local-authorities/E99999999")
    assert status == 404 and "E99999999" in html


def page_years(html: str) -> dict[int, list[str]]:
    """The year table of an authority's page: year → its cells."""
    table = html.split('id="la-years"', 1)[1].split("</table>", 1)[0]
    return {
        int(year): [_text(c) for c in re.findall(r'<td class="num">(.*?)</td>', cells)]
        for year, cells in re.findall(r'<tr><th scope="row">(\d{4})</th>(.*?)</tr>', table)
    }


def test_the_table_sorts_and_searches_with_a_script_and_is_plain_without(
    live_server: LiveServer, page: str
) -> None:
    assert "data-sortable" in page and 'src="/static/sortable-table.js"' in page
    table = page.split('id="la-table"', 1)[1].split("</table>", 1)[0]
    assert " hidden" not in table and "<button" not in table  # a plain table without JS
    status, headers, script = get(live_server, "/static/sortable-table.js")
    assert status == 200 and "javascript" in headers["Content-Type"]
    assert "aria-sort" in script and 'type = "search"' in script and "label" in script
