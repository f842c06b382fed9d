"""``/ontology`` for people: one title, the ontology's own IRI, version and licence, a table
of contents, the namespaces, every class and property with its anchor, the concept schemes
folded; a page of the site (its nav), rendered once per ontology version, and no change to
the server's logging."""

from __future__ import annotations

import logging
import re
import sys
import time
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from rdflib import OWL, RDF, SKOS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS

from tests.conftest import LiveServer
from whatworks.core.namespaces import ONTOLOGY, PREFIXES

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def graph() -> Graph:
    return Graph().parse(ROOT / "ontology" / "emmie.ttl")


class Page(HTMLParser):
    """The parts of the page the tests read."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.h1: list[str] = []
        self.in_h1 = False
        self.links: list[str] = []
        self.details: list[dict[str, str | None]] = []
        self.navs: list[str | None] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        if tag == "h1":
            self.in_h1 = True
            self.h1.append("")
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")
        elif tag == "details":
            self.details.append(a)
        elif tag == "nav":
            self.navs.append(a.get("aria-label") or a.get("aria-labelledby"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self.in_h1 = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.in_h1:
            self.h1[-1] += data


def get(server: LiveServer, path: str, **headers: str) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(server.url + path, headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, dict(response.headers), response.read().decode("utf-8")


@pytest.fixture(scope="module")
def page(live_server: LiveServer) -> tuple[str, Page]:
    status, headers, html = get(live_server, "/ontology", Accept="text/html")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    parsed = Page()
    parsed.feed(html)
    return html, parsed


def test_one_title_the_ontologys_iri_version_and_licence(
    page: tuple[str, Page], graph: Graph
) -> None:
    html, parsed = page
    title = str(graph.value(ONTOLOGY, DCTERMS.title))
    assert [h.strip() for h in parsed.h1] == [title]
    assert f"<code>{ONTOLOGY}</code>" in html
    assert str(graph.value(ONTOLOGY, OWL.versionIRI)) in html
    assert str(graph.value(ONTOLOGY, OWL.versionInfo)) in html
    licence = str(graph.value(ONTOLOGY, DCTERMS.license))
    assert f'rel="license" href="{licence}"' in html


def test_it_is_a_page_of_the_site(page: tuple[str, Page]) -> None:
    html, parsed = page
    assert "main" in parsed.navs  # base.html's navigation: the way back
    assert "/" in parsed.links
    assert '<a class="brand" href="/">' in html
    assert "pyLODE" not in html


def test_contents_and_namespaces(page: tuple[str, Page]) -> None:
    html, parsed = page
    for anchor in (
        "namespaces",
        "classes",
        "object-properties",
        "datatype-properties",
        "concept-schemes",
    ):
        assert f"#{anchor}" in parsed.links and anchor in parsed.ids, anchor
    for prefix, namespace in PREFIXES.items():
        assert f'<code>{prefix}:</code></th><td><code class="iri">{namespace}</code>' in html


@pytest.mark.parametrize(
    ("kind", "section"),
    [
        (OWL.Class, "classes"),
        (OWL.ObjectProperty, "object-properties"),
        (OWL.DatatypeProperty, "datatype-properties"),
    ],
)
def test_every_term_has_its_anchor_label_iri_and_definition(
    page: tuple[str, Page], graph: Graph, kind: URIRef, section: str
) -> None:
    html, parsed = page
    part = html.split(f'id="{section}"', 1)[1].split("</section>", 1)[0]
    terms = [t for t in graph.subjects(RDF.type, kind) if isinstance(t, URIRef)]
    assert terms
    for term in terms:
        emmie = str(term).startswith(PREFIXES["emmie"])
        if emmie:
            anchor = str(term).rsplit("#", 1)[1]
            assert anchor in parsed.ids, term
        assert f'<code class="iri">{term}</code>' in part, term
        definition = graph.value(term, SKOS.definition)
        if definition is not None:
            assert str(definition).replace("'", "&#39;").replace('"', "&#34;") in part, term


def test_concept_schemes_are_folded_with_their_concepts(
    page: tuple[str, Page], graph: Graph
) -> None:
    html, parsed = page
    schemes = set(graph.subjects(RDF.type, SKOS.ConceptScheme))
    assert len(parsed.details) == len(schemes) > 20
    assert all("open" not in d for d in parsed.details), "schemes start folded"
    concepts = list(graph.subjects(RDF.type, SKOS.Concept))
    for concept in concepts:
        assert f'<code class="iri">{concept}</code>' in html, concept
    label = graph.value(
        URIRef("https://w3id.org/whatworks/concept/ofsted-judgement/requires_improvement"),
        SKOS.prefLabel,
    )
    assert f"{label} <small>(<code>requires_improvement</code>)</small>" in html


def test_the_page_is_of_a_reasonable_size(page: tuple[str, Page]) -> None:
    html, _ = page
    # pyLODE's page was about 94,000 px tall; this one folds the schemes
    assert len(html) < 400_000
    folded = html.split('id="concept-schemes"', 1)[0]
    assert folded.count("<tr") < 400


def test_the_rdf_forms_stay(live_server: LiveServer) -> None:
    status, headers, body = get(live_server, "/ontology.ttl")
    assert headers["Content-Type"].startswith("text/turtle")
    assert (ONTOLOGY, RDF.type, OWL.Ontology) in Graph().parse(data=body, format="turtle")


def test_the_server_logs_each_line_once_after_the_page(live_server: LiveServer) -> None:
    get(live_server, "/ontology", Accept="text/html")
    marker = f"once-{time.monotonic_ns()}"
    get(live_server, "/health", **{"X-Request-ID": marker})
    deadline = time.monotonic() + 5
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = [ln for ln in live_server.log.read_text().splitlines() if marker in ln]
        if lines:
            break
        time.sleep(0.1)
    assert len(lines) == 1, lines


@pytest.fixture
def app(bundled_store: Path) -> Iterator[Any]:
    from whatworks.server import create_app

    yield create_app({"store": str(bundled_store), "query_workers": 1})


def test_logging_is_untouched_and_the_page_rendered_once_per_version(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from whatworks.server import ontology_pages

    monkeypatch.setattr(ontology_pages, "_PAGES", ontology_pages.VersionCache(size=1))
    built: list[str] = []
    model = ontology_pages._Page.model

    def counting(self: Any) -> dict[str, object]:
        built.append(ontology_pages.version(self.graph))
        return model(self)

    monkeypatch.setattr(ontology_pages._Page, "model", counting)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    client = app.test_client()
    for _ in range(3):
        assert client.get("/ontology", headers={"Accept": "text/html"}).status_code == 200
    assert root.handlers == handlers and root.level == level
    assert "pylode" not in sys.modules
    assert len(built) == 1
    # another version of the ontology: rendered again, once
    other = Graph()
    for triple in ontology_pages.ontology():
        other.add(triple)
    other.set((ONTOLOGY, OWL.versionIRI, URIRef(str(ONTOLOGY) + "/9999-01-01")))
    other.set((ONTOLOGY, OWL.versionInfo, Literal("9999-01-01")))
    monkeypatch.setattr(ontology_pages, "ontology", lambda: other)
    for _ in range(2):
        body = client.get("/ontology", headers={"Accept": "text/html"}).get_data(as_text=True)
        assert "9999-01-01" in body
    assert len(built) == 2 and built[1].endswith("/9999-01-01")
    assert re.search(r"<h1>[^<]+</h1>", body)
