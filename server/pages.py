"""The HTML pages' shared parts (templates, static files) and the
landing page ``/`` with the dataset's counts, a bar chart of EMMIE coverage and downloads.

Every page is rendered on the server and makes no request outside this server.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, render_template

from whatworks.core.catalogue import internal

from .gap_map import Filters, coverage
from .gap_map_pages import coverage_view
from .negotiation import HTML_ONLY, offers
from .page_data import dataset_version, select

blueprint = Blueprint(
    "pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

COUNT_NAMES = {
    "Study": "studies",
    "Intervention": "interventions",
    "Finding": "findings",
    "EmmieCoding": "EMMIE codings",
    "Mechanism": "mechanisms",
    "Moderator": "moderators",
    "ImplementationFactor": "implementation factors",
    "EconomicEvidence": "economic evidence records",
    "PooledEstimate": "pooled estimates",
    "Work": "works (publications)",
}


@blueprint.get("/")
@offers(HTML_ONLY)
def home() -> Response:
    rows = select(internal("home_counts").text, what="counts")
    counts = {str(r["class"]).rsplit("#", 1)[-1]: r["n"] for r in rows}
    everything = internal("everything").text.strip()
    downloads = [
        (name, "/sparql?" + urlencode({"query": everything, "format": fmt}))
        for name, fmt in (("Turtle", "turtle"), ("N-Triples", "ntriples"), ("JSON-LD", "jsonld"))
    ]
    html = render_template(
        "home.html",
        counts=[(COUNT_NAMES[k], counts.get(k, 0)) for k in COUNT_NAMES],
        version=dataset_version(),
        downloads=downloads,
        coverage=coverage_view(coverage(Filters())[0]),
    )
    return Response(html, mimetype="text/html")
