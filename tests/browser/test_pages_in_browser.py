"""The pages in a real browser: the explorer flow, the gap map, YASGUI, and every page free
of console errors and outside requests. Screenshots go to docs/img/."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from tests.browser.conftest import Watched, screenshot


def test_explorer_form_to_results_to_study(watched: Watched) -> None:
    page = watched.page
    page.goto(watched.origin + "/explore")
    page.select_option("#f-outcome", "reunification")
    page.click("button[type=submit]")
    page.wait_for_selector("article.result")
    # The URL holds the question.
    assert "outcome=reunification" in page.url
    results = page.locator("article.result")
    assert results.count() >= 1
    badges = page.locator("article.result .badge").all_inner_texts()
    assert set(badges) <= {"favourable", "mixed", "no effect", "unfavourable", "unclear"}
    assert page.locator("table.emmie-profile").first.is_visible()
    screenshot(page, "explore")
    first = results.first.locator("a.study-link").first
    study_path = first.get_attribute("href")
    assert study_path and study_path.startswith("/id/study/")
    first.click()
    page.wait_for_selector("h1")
    assert page.url.endswith(study_path)
    assert page.locator("text=Provenance").first.is_visible()
    assert "Findings" in page.inner_text("main")
    screenshot(page, "study")


def test_explorer_url_is_the_question(watched: Watched) -> None:
    page = watched.page
    page.goto(watched.origin + "/explore?outcome=entry&verified_only=true")
    assert page.locator("#f-outcome").input_value() == "entry"
    assert page.locator("input[name=verified_only]").is_checked()
    with urllib.request.urlopen(
        watched.origin + "/explore.json?outcome=entry&verified_only=true", timeout=30
    ) as response:
        rows = json.load(response)["rows"]
    assert page.locator("article.result").count() == len(rows)


def _cells(origin: str, query: str = "") -> dict[str, Any]:
    with urllib.request.urlopen(origin + "/gap-map.json" + query, timeout=30) as response:
        data = json.load(response)
    return {f"{c['intervention_type']}:{c['outcome']}:{c['dimension']}": c for c in data["cells"]}


def test_gap_map_bubble_lists_its_studies(watched: Watched) -> None:
    page = watched.page
    cells = _cells(watched.origin)
    page.goto(watched.origin + "/gap-map")
    bubbles = page.locator("#gap-svg a.bubble:visible")  # intervention rows start collapsed
    assert bubbles.count() == sum(1 for c in cells.values() if c["n_studies"])
    screenshot(page, "gap-map")
    busiest = max(cells.values(), key=lambda c: c["n_studies"])
    key = f"{busiest['intervention_type']}:{busiest['outcome']}:{busiest['dimension']}"
    page.locator(f'#gap-svg a.bubble[data-cell="{key}"]').click()
    page.wait_for_selector("#cell")
    listed = {
        href.rsplit("/", 1)[-1]
        for href in page.locator("#cell a.study-link").evaluate_all(
            "els => els.map(e => e.getAttribute('href'))"
        )
    }
    assert listed == {s.rsplit("/", 1)[-1] for s in busiest["studies"]}
    screenshot(page, "gap-map-cell")


def test_gap_map_filters_and_colour_switch(watched: Watched) -> None:
    page = watched.page
    page.goto(watched.origin + "/gap-map")
    page.check("input[name=verified]")
    page.check("input[name=colour][value=direction]")
    page.click("form.filters button[type=submit]")
    page.wait_for_selector("#gap-svg")
    assert "verified=true" in page.url and "colour=direction" in page.url
    expected = sum(1 for c in _cells(watched.origin, "?verified=true").values() if c["n_studies"])
    assert page.locator("#gap-svg a.bubble:visible").count() == expected
    assert "direction of the findings" in page.inner_text(".legend")


def test_gap_map_keyboard(watched: Watched) -> None:
    page = watched.page
    page.goto(watched.origin + "/gap-map")
    first = page.locator("#gap-svg a.bubble").first
    first.focus()
    before = page.evaluate("document.activeElement.dataset.cell")
    page.keyboard.press("ArrowRight")
    after = page.evaluate("document.activeElement.dataset.cell")
    assert after and after != before
    page.keyboard.press("Enter")
    page.wait_for_selector("#cell")
    assert after.replace(":", "%3A") in page.url


def test_gap_map_expands_to_interventions(watched: Watched) -> None:
    page = watched.page
    with urllib.request.urlopen(watched.origin + "/gap-map.json", timeout=30) as response:
        data = json.load(response)
    cells = {
        f"{c['intervention_type']}/{c['intervention']}:{c['outcome']}:{c['dimension']}": c
        for c in data["intervention_cells"]
    }
    page.goto(watched.origin + "/gap-map")
    rows = page.locator('#gap-svg g.map-row.sub[data-parent="family_finances"]')
    assert rows.count() >= 2 and not rows.first.is_visible()
    # Expand the type with the keyboard: Tab onto its button, press Enter.
    button = page.locator('button.expander[data-type="family_finances"]')
    assert button.get_attribute("aria-expanded") == "false"
    page.locator(
        "#gap-svg a.bubble:visible"
    ).last.focus()  # Tab on, out of the picture into the table
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.type") == "family_finances":
            break
    assert page.evaluate("document.activeElement.dataset.type") == "family_finances"
    page.keyboard.press("Enter")
    assert button.get_attribute("aria-expanded") == "true"
    assert "expand=family_finances" in page.url
    assert page.locator("tr#r-family_finances-eitc_expansion").is_visible()
    assert rows.first.is_visible()
    page.locator("#gap-svg").scroll_into_view_if_needed()
    screenshot(page, "gap-map-expanded")
    # Click an intervention's bubble: the listed studies are the JSON's for that cell.
    key = "family_finances/eitc_expansion:entry:effect"
    assert cells[key]["n_studies"] >= 1
    page.locator(f'#gap-svg a.bubble[data-cell="{key}"]').click()
    page.wait_for_selector("#cell")
    listed = {
        href.rsplit("/", 1)[-1]
        for href in page.locator("#cell a.study-link").evaluate_all(
            "els => els.map(e => e.getAttribute('href'))"
        )
    }
    assert listed == {s.rsplit("/", 1)[-1] for s in cells[key]["studies"]}
    # The row stays expanded on the new page, and collapses again with Space.
    assert page.locator("tr#r-family_finances-eitc_expansion").is_visible()
    button.focus()
    page.keyboard.press("Space")
    assert button.get_attribute("aria-expanded") == "false"
    assert not page.locator("tr#r-family_finances-eitc_expansion").is_visible()


def test_yasgui_runs_a_catalogue_query(watched: Watched) -> None:
    page = watched.page
    page.goto(watched.origin + "/sparql-editor")
    page.wait_for_selector(".yasqe .CodeMirror")
    page.select_option("#example", "what_works_for_whom")
    page.locator(".yasqe_queryButton").click()
    page.wait_for_selector(".yasr table tbody tr", timeout=20_000)
    rows = page.locator(".yasr table tbody tr").count()
    assert rows >= 1
    screenshot(page, "sparql-editor")


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/explore?outcome=reunification",
        "/gap-map?colour=direction",
        "/sparql-editor",
        "/id/study/chambers2019_parent_partner",
        "/id/intervention/iowa_parent_partner",
        "/id/finding/fonagy2018_start-placement-18m",
        "/ontology",
        "/id/study/none-such",
    ],
)
def test_page_is_clean(watched: Watched, path: str) -> None:
    response = watched.page.goto(watched.origin + path)
    assert response is not None
    assert response.status == (404 if "none-such" in path else 200)
    watched.page.wait_for_load_state("networkidle")
    if "none-such" in path:  # the browser logs the 404 of the page itself
        watched.errors[:] = [e for e in watched.errors if "status of 404" not in e]
    if path == "/":
        screenshot(watched.page, "home")
    if path == "/ontology":
        screenshot(watched.page, "ontology")


def test_local_authorities_page(watched: Watched) -> None:
    page = watched.page
    page.goto(watched.origin + "/local-authorities")
    page.wait_for_selector("#region-table")
    assert page.locator("h1").inner_text().startswith("Children looked after by local authority")
    assert page.locator("#la-table tbody tr").count() == 151
    # the script's search box narrows the table, and a heading's button sorts it
    page.get_by_label("Find an authority or region").fill("Yorkshire and The Humber")
    shown = page.locator("#la-table tbody tr:visible")
    assert 0 < shown.count() < 151
    assert all("Yorkshire and The Humber" in t for t in shown.all_inner_texts())
    page.get_by_label("Find an authority or region").fill("")
    page.locator("#la-table thead button", has_text="local authority").click()
    page.locator("#la-table thead button", has_text="local authority").click()
    names = page.locator("#la-table tbody th a").all_inner_texts()
    assert (names[0], names[-1]) == ("York", "Barking and Dagenham")  # descending
    assert page.locator("#region-trend polyline").count() >= 9
    assert page.locator("#region-table tr[data-area='Inner London'] td.direction").inner_text() == (
        "falling"
    )
    screenshot(page, "local-authorities")


def test_explorer_card_shows_the_start_trial_estimate(watched: Watched) -> None:
    page = watched.page
    page.goto(watched.origin + "/explore?outcome=entry")
    card = page.locator('article.result[data-intervention$="/intervention/mst"]')
    card.wait_for()
    text = card.inner_text()
    assert "OR 1.25 (95% CI 0.77 to 2.05)" in text
    assert "Fonagy et al. 2018" in text and "fonagy2018_start" not in text
    assert card.locator("svg.forest").count() == 1 and card.locator("svg.forest").is_visible()
    study = card.locator("a.study-link", has_text="Fonagy et al. 2018").first
    assert study.get_attribute("title") == "fonagy2018_start"
    assert "sha256" not in page.inner_text("main")
