"""Pages for people, over raw HTTP against a real server: every page reachable from the nav
(the current one marked), errors as pages for browsers and as JSON for scripts (same
status), the API docs page and its files served from this server, and ``/sparql`` opened
in a browser leading to the editor while RDF clients keep the service description."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from tests.conftest import LiveServer
from tests.test_pages import fetch

#: What a browser sends for a page (Chromium's navigation Accept).
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
NAV = {
    "/explore": "What works for whom",
    "/gap-map": "Evidence gap map",
    "/local-authorities": "Local authorities",
    "/sparql-editor": "SPARQL",
    "/ontology": "Ontology",
    "/api/docs": "API",
}


class _Nav(HTMLParser):
    """The main nav's links: (href, text, aria-current)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, str | None]] = []
        self._in_nav = False
        self._link: dict[str, str | None] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "nav" and found.get("aria-label") == "main":
            self._in_nav = True
        elif tag == "a" and self._in_nav:
            self._link, self._text = found, ""

    def handle_data(self, data: str) -> None:
        if self._link is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav":
            self._in_nav = False
        elif tag == "a" and self._link is not None:
            href = self._link.get("href") or ""
            self.links.append((href, self._text.strip(), self._link.get("aria-current")))
            self._link = None


def nav_of(html: str) -> list[tuple[str, str, str | None]]:
    parser = _Nav()
    parser.feed(html)
    return parser.links


@pytest.mark.parametrize("path", ["/", *NAV])
def test_every_page_is_in_the_nav_and_the_current_one_is_marked(
    live_server: LiveServer, path: str
) -> None:
    status, headers, body = fetch(live_server, path, accept=BROWSER)
    assert status == 200, path
    assert headers["Content-Type"].startswith("text/html")
    links = nav_of(body.decode())
    assert {href: text for href, text, _ in links} == NAV
    current = [href for href, _, mark in links if mark == "page"]
    assert current == ([path] if path in NAV else [])
    for href, _, mark in links:
        assert mark in (None, "page"), href


@pytest.mark.parametrize("href", list(NAV))
def test_every_nav_link_answers_a_page(live_server: LiveServer, href: str) -> None:
    status, headers, _ = fetch(live_server, href, accept=BROWSER)
    assert status == 200 and headers["Content-Type"].startswith("text/html"), href


# --- the API docs -------------------------------------------------------------------


def test_api_docs_page_and_its_files_come_from_this_server(live_server: LiveServer) -> None:
    status, headers, body = fetch(live_server, "/api/docs", accept=BROWSER)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    html = body.decode()
    assert 'id="swagger-ui"' in html
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert "/vendor/swagger-ui/swagger-ui-bundle.js" in assets
    assert "/vendor/swagger-ui/swagger-ui.css" in assets
    for asset in assets:
        assert asset.startswith("/"), asset  # nothing from another host
        status, headers, body = fetch(live_server, asset)
        assert status == 200, asset
        kind = "javascript" if asset.endswith(".js") else "css"
        assert kind in headers["Content-Type"], (asset, headers["Content-Type"])
        assert len(body) > 100, asset
    status, _, body = fetch(live_server, "/openapi.json")
    assert status == 200 and json.loads(body)["openapi"].startswith("3.")


def test_only_the_named_swagger_ui_files_are_served(live_server: LiveServer) -> None:
    for name in ("package.json", "index.html", "swagger-initializer.js", "..%2Fpackage.json"):
        status, _, body = fetch(live_server, "/vendor/swagger-ui/" + name)
        assert status == 404, name
        assert json.loads(body)["error"]["status"] == 404


# --- /sparql in a browser -----------------------------------------------------------


@pytest.mark.parametrize("accept", [BROWSER, "text/html"])
def test_sparql_in_a_browser_is_the_editor(live_server: LiveServer, accept: str) -> None:
    import urllib.request

    request = urllib.request.Request(live_server.sparql, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=30) as response:  # follows the 303
        assert response.url == live_server.url + "/sparql-editor"
        assert response.headers["Content-Type"].startswith("text/html")
        assert "SPARQL editor" in response.read().decode()


def test_sparql_redirect_is_a_303(live_server: LiveServer) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=30)
    connection.request("GET", "/sparql", headers={"Accept": BROWSER})
    response = connection.getresponse()
    assert response.status == 303
    assert response.getheader("Location", "").endswith("/sparql-editor")
    assert "Accept" in response.getheader("Vary", "")
    connection.close()


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, "text/turtle"),
        ("*/*", "text/turtle"),
        ("text/turtle", "text/turtle"),
        ("application/rdf+xml, text/html", "application/rdf+xml"),
        ("text/html;q=0.5, application/ld+json", "application/ld+json"),
        ("text/html, application/xml", "application/rdf+xml"),  # HTML not above RDF
    ],
)
def test_rdf_clients_keep_the_service_description(
    live_server: LiveServer, accept: str | None, media: str
) -> None:
    status, headers, _ = fetch(live_server, "/sparql", accept=accept)
    assert status == 200
    assert headers["Content-Type"].split(";")[0] == media


def test_sparql_format_parameter_wins_over_a_browser(live_server: LiveServer) -> None:
    status, headers, _ = fetch(live_server, "/sparql?format=turtle", accept=BROWSER)
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")


# --- errors as pages ----------------------------------------------------------------

#: (status, path) cases a browser can meet by following or typing a URL.
ERRORS = [
    (400, "/api/queries/what_works_for_whom?outcome=no-such-outcome"),
    (400, "/explore?age=%FF"),
    (404, "/no-such-page"),
    (404, "/api/queries/no_such_query"),
    (406, "/id/study/chambers2019_parent_partner?format=pdf"),
]


def _json_error(body: bytes, status: int) -> dict[str, object]:
    error = json.loads(body)["error"]
    assert error["status"] == status
    assert set(error) == {"status", "title", "detail", "request_id"}
    return error


@pytest.mark.parametrize(("status", "path"), ERRORS)
def test_error_is_a_page_for_a_browser(live_server: LiveServer, status: int, path: str) -> None:
    got, headers, body = fetch(live_server, path, accept=BROWSER)
    assert got == status
    assert headers["Content-Type"].startswith("text/html")
    assert "Accept" in headers.get("Vary", "")
    html = body.decode()
    assert f"(error {status})" in html
    assert nav_of(html), "the error page has the site's nav"
    # the detail is the JSON error's detail (for a 404 of a route: what was not found)
    _, _, as_json = fetch(live_server, path, accept="application/json")
    detail = str(_json_error(as_json, status)["detail"])
    if path == "/no-such-page":
        assert "There is no page at /no-such-page." in html
        assert 'href="/explore"' in html and 'href="/"' in html
    else:
        from html import unescape

        assert detail in unescape(html), detail


@pytest.mark.parametrize("accept", ["application/json", None, "*/*"])
@pytest.mark.parametrize(("status", "path"), ERRORS)
def test_error_is_json_for_a_script(
    live_server: LiveServer, status: int, path: str, accept: str | None
) -> None:
    got, headers, body = fetch(live_server, path, accept=accept)
    assert got == status
    assert headers["Content-Type"].startswith("application/json")
    _json_error(body, status)


def test_405_and_413_as_pages_and_json(live_server: LiveServer) -> None:
    import requests

    for accept, kind in ((BROWSER, "text/html"), ("application/json", "application/json")):
        response = requests.delete(live_server.url + "/explore", headers={"Accept": accept})
        assert response.status_code == 405
        assert response.headers["Content-Type"].startswith(kind)
        assert "GET" in response.headers["Allow"]
    # the SPARQL endpoint answers its errors in JSON, browser or not
    response = requests.get(
        live_server.sparql, params={"query": "SELEKT * {}"}, headers={"Accept": BROWSER}
    )
    assert response.status_code == 400
    _json_error(response.content, 400)


def test_500_page_says_nothing_of_the_internals(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch, bundled_store: object
) -> None:
    """An internal error, made in-process (a real server has no route that fails on
    purpose): the page has the status and the request id, and no traceback or path."""
    from whatworks.core import query_pool
    from whatworks.server import app as application

    class _NoPool(query_pool.QueryPool):
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def close(self) -> None:
            pass

    monkeypatch.setattr(query_pool, "QueryPool", _NoPool)
    app = application.create_app({"store": str(bundled_store), "query_workers": 1})

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals /home/someone/store")

    client = app.test_client()
    page = client.get("/boom", headers={"Accept": BROWSER, "X-Request-ID": "req-500"})
    assert page.status_code == 500 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "(error 500)" in html and "req-500" in html
    for leak in ("secret", "Traceback", "RuntimeError", "/home/someone"):
        assert leak not in html
    data = client.get("/boom", headers={"Accept": "application/json"})
    assert data.status_code == 500 and data.get_json()["error"]["status"] == 500
    assert "secret" not in data.get_data(as_text=True)


# --- the SPARQL editor's page -------------------------------------------------------


def test_editor_examples_have_no_prefix_lines_and_the_page_has_the_prefixes(
    live_server: LiveServer,
) -> None:
    from whatworks.core.namespaces import ID, PREFIXES

    status, _, body = fetch(live_server, "/sparql-editor", accept=BROWSER)
    assert status == 200
    html = body.decode()
    examples = json.loads(
        re.search(r'<script type="application/json" id="examples">(.*?)</script>', html, re.S)
        .group(1)  # type: ignore[union-attr]
        .replace("<\\/", "</")
    )
    assert len(examples) >= 10
    for example in examples:
        assert "PREFIX" not in example["query"], example["name"]
    prefixes = re.search(r'id="prefixes">(.*?)</script>', html, re.S)
    assert prefixes and json.loads(prefixes.group(1)) == PREFIXES
    assert f'data-id-base="{ID}"' in html
    # every input of the page itself has a label
    assert '<label for="example">' in html and '<select id="example">' in html
