"""Pages for people in a real browser: the nav (current page marked, fits at 390 px), the
API docs drawn by Swagger UI, /sparql leading to the editor, error pages, and the SPARQL
editor: prefixes it knows, local links in results, plain literals, readable errors,
results that scroll in their box, a name on every input."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Watched, screenshot

NAV = ["/explore", "/gap-map", "/local-authorities", "/sparql-editor", "/ontology", "/api/docs"]
ID_BASE = "https://w3id.org/whatworks/id/"


def _forget_status_errors(watched: Watched, status: int) -> None:
    """The browser logs every response with an error status as a console error: expected
    here (the test asks for the error); anything else still fails the test."""
    watched.errors[:] = [e for e in watched.errors if f"status of {status}" not in e]


@pytest.mark.parametrize("path", NAV)
def test_nav_reaches_every_page_and_marks_the_current_one(watched: Watched, path: str) -> None:
    page = watched.page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(watched.origin + "/")
    page.locator(f'nav[aria-label=main] a[href="{path}"]').click()
    page.wait_for_load_state("load")
    assert page.url == watched.origin + path
    current = page.locator('nav[aria-label=main] a[aria-current="page"]')
    assert current.count() == 1 and current.get_attribute("href") == path
    # the nav fits a phone's width: every link inside the viewport, none cut off
    for box in page.locator("nav[aria-label=main] a").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().toJSON())"
    ):
        assert box["left"] >= 0 and box["right"] <= 390, box


def test_api_docs_show_the_operations(watched: Watched) -> None:
    page = watched.page
    page.goto(watched.origin + "/api/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    paths = page.locator(".swagger-ui .opblock-summary-path").all_inner_texts()
    assert any("what_works_for_whom" in p for p in paths), paths
    assert any(p.strip().replace("\u200b", "") == "/api/queries" for p in paths), paths
    assert page.locator("h1").first.inner_text() == "Query API"
    screenshot(page, "api-docs")


@pytest.mark.parametrize("path", ["/sparql", "/sparql-editor"])
def test_sparql_in_a_browser_opens_the_editor(watched: Watched, path: str) -> None:
    page = watched.page
    response = page.goto(watched.origin + path)
    assert response is not None and response.status == 200
    assert page.url == watched.origin + "/sparql-editor"
    page.wait_for_selector(".yasqe .CodeMirror")
    assert page.locator("h1").inner_text() == "SPARQL editor"


def test_a_mistyped_url_is_a_page(watched: Watched) -> None:
    page = watched.page
    response = page.goto(watched.origin + "/explor")
    assert response is not None and response.status == 404
    _forget_status_errors(watched, 404)
    assert "Not Found" in page.locator("h1").inner_text()
    assert "/explor" in page.locator("#error-detail").inner_text()
    main = page.locator("main")
    assert main.locator('a[href="/"]').count() >= 1
    assert main.locator('a[href="/explore"]').count() >= 1
    assert page.locator("nav[aria-label=main] a").count() == len(NAV)


def _editor(page: Any, origin: str) -> None:
    page.goto(origin + "/sparql-editor")
    page.wait_for_selector(".yasqe .CodeMirror")


def _yasqe(page: Any, method: str) -> Any:
    return page.evaluate(f"whatworksYasgui.getTab().getYasqe().{method}")


def _run(page: Any) -> None:
    page.locator(".yasqe_queryButton").click()


def test_examples_need_no_prefix_lines_and_the_endpoint_gets_them(watched: Watched) -> None:
    page = watched.page
    _editor(page, watched.origin)
    options = page.locator("#example option").evaluate_all("els => els.map(e => e.value)")
    assert len(options) >= 10
    for name in options:
        page.select_option("#example", name)
        text = _yasqe(page, "getValue()")
        assert "PREFIX" not in text, name
        assert _yasqe(page, "queryValid"), f"{name}: the editor flags the example"
    page.select_option("#example", "what_works_for_whom")
    sent: list[str] = []
    page.on(
        "request",
        lambda r: sent.append(r.post_data or "") if r.url.endswith("/sparql") else None,
    )
    _run(page)
    page.wait_for_selector(".yasr table tbody tr", timeout=20_000)
    assert len(sent) == 1
    from urllib.parse import parse_qs

    query = parse_qs(sent[0])["query"][0]
    assert query.startswith("PREFIX ")
    assert "PREFIX emmie: <https://w3id.org/whatworks/emmie#>" in query
    # a prefix the query declares itself is not declared twice
    page.evaluate(
        "whatworksYasgui.getTab().getYasqe().setValue("
        "'PREFIX emmie: <https://w3id.org/whatworks/emmie#>\\n"
        "SELECT ?s WHERE { ?s a emmie:Study } LIMIT 1')"
    )
    _run(page)
    page.wait_for_function("() => document.querySelectorAll('.yasr table tbody tr').length === 1")
    query = parse_qs(sent[-1])["query"][0]
    assert query.count("PREFIX emmie:") == 1 and query.count("PREFIX wwid:") == 1


def test_results_link_here_and_show_plain_values(watched: Watched) -> None:
    page = watched.page
    _editor(page, watched.origin)
    page.evaluate(
        "whatworksYasgui.getTab().getYasqe().setValue("
        "'SELECT ?study ?verified WHERE { ?study a emmie:Study . "
        "BIND(true AS ?verified) } ORDER BY ?study LIMIT 3')"
    )
    _run(page)
    page.wait_for_selector(".yasr table tbody tr", timeout=20_000)
    table = page.locator(".yasr table tbody")
    assert "^^" not in table.inner_text() and '"' not in table.inner_text()
    literal = table.locator(".literal").first
    assert literal.inner_text() == "true"
    assert literal.get_attribute("title") == "datatype: xsd:boolean"
    link = table.locator("a.iri").first
    href = link.get_attribute("href")
    assert href and href.startswith("/id/study/"), href
    assert link.get_attribute("title", timeout=5_000).startswith(ID_BASE)
    assert link.get_attribute("target") is None  # opens here, not a new window
    screenshot(page, "sparql-editor-results")
    link.click()
    page.wait_for_url(watched.origin + href)
    assert page.locator("h1").count() == 1


def test_an_endpoint_error_is_a_readable_message(watched: Watched) -> None:
    page = watched.page
    _editor(page, watched.origin)
    page.evaluate(
        "whatworksYasgui.getTab().getYasqe().setValue("
        "'# a question with a typing mistake\\nSELEKT ?s WHERE { ?s emmie:label ?o }')"
    )
    _run(page)
    message = page.locator(".yasr .query-error")
    message.wait_for(timeout=20_000)
    _forget_status_errors(watched, 400)
    text = message.inner_text()
    assert "Bad Request (400)" in text
    assert "malformed query" in text
    assert "line 2," in text  # the position in the query as written, not as sent
    assert "{" not in text and "request_id" not in text


def _named(element: Any) -> str:
    return str(
        element.evaluate(
            """e => (e.getAttribute('aria-label')
                    || (e.getAttribute('aria-labelledby') || '').split(' ')
                         .map(i => (document.getElementById(i) || {}).textContent || '').join(' ')
                    || Array.from(e.labels || []).map(l => l.textContent).join(' ')
                    || '').trim()"""
        )
    )


def test_every_input_of_the_editor_has_a_name(watched: Watched) -> None:
    page = watched.page
    _editor(page, watched.origin)
    _run(page)
    page.wait_for_selector(".yasr table tbody tr", timeout=20_000)
    inputs = page.locator("input:not([type=hidden]), select, textarea")
    assert inputs.count() >= 6
    unnamed = [
        inputs.nth(i).evaluate("e => e.outerHTML.slice(0, 120)")
        for i in range(inputs.count())
        if not _named(inputs.nth(i))
    ]
    assert unnamed == []
    names = [_named(inputs.nth(i)) for i in range(inputs.count())]
    assert "SPARQL query" in names and "SPARQL endpoint" in names and "Page size" in names


def test_results_scroll_inside_their_box_on_a_phone(watched: Watched) -> None:
    page = watched.page
    page.set_viewport_size({"width": 390, "height": 844})
    _editor(page, watched.origin)
    _run(page)
    page.wait_for_selector(".yasr table tbody tr", timeout=20_000)
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    table = page.locator(".yasr table").first
    assert table.evaluate("e => e.getBoundingClientRect().width") > width  # wider than a phone
    scroller = page.evaluate(
        """() => { let e = document.querySelector('.yasr table').parentElement;
                   while (e && getComputedStyle(e).overflowX !== 'auto') e = e.parentElement;
                   return e && e.scrollWidth > e.clientWidth; }"""
    )
    assert scroller, "the wide table has no box of its own to scroll in"
