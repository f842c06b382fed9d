"""``/local-authorities``: children looked after by local authority, 2012–2017, from the
statistics cube (``whatworks load``): the regional trend (table and line chart), every local
authority with a sparkline of its counts, the change 2012→2017 in counts and 2015→2017 in
official rates, and the seed's area-level associations re-run from the graph
(:mod:`whatworks.analysis.area_analysis`). Every read goes through the bounded query workers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template

from whatworks.analysis.area_analysis import CAVEAT, OUTCOMES, QUERY, analyse_rows
from whatworks.core.catalogue import get, internal

from .negotiation import HTML_ONLY, offers
from .page_data import dataset_version, select
from .resource_views import local_href
from .svg_charts import line_chart_svg, sparkline_svg

blueprint = Blueprint("local_authorities", __name__)

YEARS = list(range(2012, 2018))
TREND = "looked_after_trend_by_region"


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _association_rows() -> list[dict[str, Any]]:
    rows = select(internal(QUERY).text, what="area analysis")
    analysis = analyse_rows([{k: _text(v) for k, v in r.items() if v is not None} for r in rows])
    return [
        {
            "outcome": OUTCOMES[a.outcome],
            "term": a.term,
            "n": a.n,
            "estimate": a.estimate,
            "lower": a.ci_lower,
            "upper": a.ci_upper,
        }
        for a in analysis.associations
    ]


@blueprint.get("/local-authorities")
@offers(HTML_ONLY)
def local_authorities() -> Response:
    named = get(TREND)
    trend = select(named.text, named.bindings({"level": "all"}), what=TREND)
    counts: dict[str, dict[int, int | None]] = {}
    for row in select(internal("la_counts_by_year").text, what="counts by year"):
        counts.setdefault(str(row["area"]), {})[int(row["year"])] = row["count"]
    rates: dict[str, dict[int, float]] = {}
    for row in select(internal("la_official_rates").text, what="official rates"):
        rates.setdefault(str(row["area"]), {})[int(row["year"])] = float(row["rate"])

    regions = [r for r in trend if r["level"] in ("england", "region")]
    regions.sort(key=lambda r: (r["level"] != "england", str(r["area_label"])))
    series = [
        (
            str(r["area_label"]),
            [
                100 * c / first
                if (c := counts[str(r["area"])].get(y)) is not None and first
                else None
                for y in YEARS
            ],
        )
        for r in regions
        if r["level"] == "region" and (first := counts.get(str(r["area"]), {}).get(2012))
    ]
    chart = line_chart_svg(
        YEARS,
        series,
        ident="region-trend",
        title="Children looked after at 31 March by region, 2012 = 100",
        desc="One line per region (London also as Inner and Outer London): the count of "
        "each year as a percentage of its 2012 count; above 100 is a rise.",
    )
    las = []
    for r in trend:
        if r["level"] != "local_authority":
            continue
        area = str(r["area"])
        by_year = counts.get(area, {})
        values = [by_year.get(y) for y in YEARS]
        rate = rates.get(area, {})
        rate_change = rate[2017] - rate[2015] if 2015 in rate and 2017 in rate else None
        las.append(
            {
                **r,
                "href": local_href(area),
                "values": values,
                "sparkline": sparkline_svg(
                    [float(v) if v is not None else None for v in values],
                    label=f"{r['area_label']}: "
                    + ", ".join(
                        f"{y} {v if v is not None else 'suppressed'}"
                        for y, v in zip(YEARS, values, strict=True)
                    ),
                ),
                "rate_2015": rate.get(2015),
                "rate_2017": rate.get(2017),
                "rate_change": rate_change,
            }
        )
    las.sort(key=lambda r: (str(r.get("region_label") or ""), str(r["area_label"])))
    html = render_template(
        "local_authorities.html",
        regions=regions,
        chart=chart,
        las=las,
        associations=_association_rows(),
        caveat=CAVEAT,
        version=dataset_version(),
        query=TREND,
    )
    return Response(html, mimetype="text/html")
