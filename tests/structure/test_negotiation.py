"""Content negotiation has one home: ``server/negotiation.py`` reads ``Accept``, and every
GET route declares what it offers there and answers accordingly.

Two holds: a scan of the server's source (nothing else reads the header), and a walk over
the real application's routes (each answers what it declares, and refuses, or answers its
one type, when asked for what it cannot serve).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rdflib import plugin
from rdflib.serializer import Serializer

from whatworks.core.catalogue import catalogue
from whatworks.core.formats import BY_MEDIA_TYPE, FORMATS
from whatworks.server import negotiation
from whatworks.server.negotiation import FILES, Offer, offer_of

SERVER = Path(__file__).resolve().parents[2] / "server"
#: What only negotiation.py may touch.
ACCEPT_READERS = {"accept_mimetypes", "best_match", "parse_accept_header"}


def accept_reads(source: str) -> list[str]:
    """Where ``source`` reads the ``Accept`` header, as ``line: what``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in ACCEPT_READERS:
            found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Name) and node.id in ACCEPT_READERS:
            found.append(f"{node.lineno}: {node.id}")
        elif isinstance(node, ast.alias) and node.name in ACCEPT_READERS:
            found.append(f"import {node.name}")
        elif isinstance(node, ast.Subscript) and _is_accept(node.slice):
            found.append(f"{node.lineno}: [Accept]")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and _is_accept(node.args[0])
        ):
            found.append(f"{node.lineno}: .get(Accept)")
    return found


def _is_accept(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and str(node.value).lower() == "accept"


def test_the_scan_finds_each_way_of_reading_accept() -> None:
    synthetic = """
from werkzeug.http import parse_accept_header
def a(request): return request.accept_mimetypes.quality("text/html")
def b(request): return request.headers["Accept"]
def c(request): return request.headers.get("accept", "")
def d(accept): return accept.best_match(["text/html"])
headers = {"Vary": "Accept"}  # naming the header in a response is not reading it
"""
    assert set(accept_reads(synthetic)) == {
        "import parse_accept_header",
        "3: .accept_mimetypes",
        "4: [Accept]",
        "5: .get(Accept)",
        "6: .best_match",
    }


def test_only_negotiation_reads_accept() -> None:
    readers = {
        path.name: found
        for path in sorted(SERVER.glob("*.py"))
        if path.name != "negotiation.py"
        and (found := accept_reads(path.read_text(encoding="utf-8")))
    }
    assert not readers, f"read Accept through server/negotiation.py instead: {readers}"


def test_every_offered_type_is_in_the_registry_and_writable() -> None:
    offers = [v for v in vars(negotiation).values() if isinstance(v, Offer)]
    for offer in offers:
        for media in (*offer.media, *offer.downloads):
            assert media in BY_MEDIA_TYPE, media
    for fmt in FORMATS:
        if fmt.rdflib_serializer:
            assert plugin.get(fmt.rdflib_serializer, Serializer)
            assert fmt.rdf_format is not None, fmt.media_type
    assert len({f.suffix for f in FORMATS if f.suffix}) == sum(1 for f in FORMATS if f.suffix)


# --- every route, through the real application ------------------------------------------

#: Not something any route serves (so: 406, or the route's one type).
UNSERVABLE = "image/png"
STUDY = "study/chambers2019_parent_partner"


def _query_without_required_parameters() -> str:
    return next(n for n, q in catalogue().items() if not any(p.required for p in q.params))


EXAMPLES = {
    "path": STUDY,
    "name": "",  # filled per view: a catalogue query, a YASGUI file
    "filename": "whatworks.css",
    "suffix": ".ttl",
    "gss": "E09000007",  # a local authority's page
}
#: Query strings a route needs to answer at all (the explorer's JSON needs a question).
QUERIES = {
    "explore.explore": "?outcome=reunification",
    "api.what_works_facets": "?outcome=reunification",
}


@pytest.fixture(scope="module")
def client(bundled_store: Path) -> Iterator[Any]:
    from whatworks.server import create_app

    app = create_app({"store": str(bundled_store), "query_workers": 1})
    yield app, app.test_client()


def _routes(app: Any) -> Iterator[tuple[str, str, Offer]]:
    """Every GET route as (endpoint, example URL, what it offers)."""
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()):
            continue
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            offer: Offer | None = FILES  # Flask's own file route
        else:
            offer = offer_of(app.view_functions[rule.endpoint])
        assert offer is not None, f"{rule.rule} declares no offer (negotiation.offers)"
        values = dict(EXAMPLES)
        if rule.endpoint == "api.run_query":
            values["name"] = _query_without_required_parameters()
        elif rule.endpoint == "editor.yasgui_file":
            values["name"] = "yasgui.min.css"
        elif rule.endpoint == "api_docs.swagger_ui_file":
            values["name"] = "swagger-ui.css"
        built = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)
        assert built is not None, rule.rule
        yield rule.endpoint, built[1] + QUERIES.get(rule.endpoint, ""), offer


def test_every_get_route_answers_what_it_offers(client: Any) -> None:
    app, http = client
    checked = set()
    for endpoint, url, offer in _routes(app):
        checked.add(endpoint)
        refused = http.get(url, headers={"Accept": UNSERVABLE})
        refused.close()  # a file's answer holds the file open
        suffix_media = offer.split(url.split("?")[0])[1]
        if offer is FILES:
            assert refused.status_code == 200, (url, refused.status_code)
            continue
        if suffix_media is not None:  # the URL names its type: Accept does not matter
            assert (refused.status_code, refused.mimetype) == (200, suffix_media), url
            continue
        if offer.fixed or offer.page:  # one type, or a page: answers its default
            assert (refused.status_code, refused.mimetype) == (200, offer.default), url
        else:
            assert refused.status_code == 406, (url, refused.status_code)
            assert refused.get_json()["error"]["status"] == 406
        if offer.fixed:
            continue
        for media in offer.media:
            answer = http.get(url, headers={"Accept": media})
            answer.close()
            assert (answer.status_code, answer.mimetype) == (200, media), (url, media)
    assert {"sparql.sparql", "resources.resource", "api.run_query", "void.void"} <= checked
