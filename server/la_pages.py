"""``/local-authorities``: children looked after by local authority, from the statistics
cube (``whatworks load``). Two series, never mixed: the official rate per 10,000 children
(DfE's Local Authority Interactive Tool, 2015 to the latest year held) for England, the
regions and every authority, which carries the regional trend past 2017 and answers whether
the seed's "London down, North up" still holds (a sentence computed from the rows of the
catalogue query ``looked_after_rate_change_by_region``); and the seed's 2012–2017 panel of
counts at 31 March (table, chart, sparklines) with its area-level associations re-run from
the graph (:mod:`whatworks.analysis.area_analysis`). ``/local-authorities/<gss>`` is one
authority's page: everything the base holds about it, year by year.

Every read goes through the bounded query workers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template
from rdflib import URIRef

from whatworks.analysis.area_analysis import CAVEAT, OUTCOMES, QUERY, analyse_rows
from whatworks.core.catalogue import get, internal
from whatworks.core.vocab import EMMIE

from .gap_map import cached_per_version
from .negotiation import HTML_ONLY, offers
from .page_data import dataset_version, label, select
from .svg_charts import line_chart_svg, sparkline_svg

blueprint = Blueprint("local_authorities", __name__)

#: The seed's panel of counts.
YEARS = list(range(2012, 2018))
TREND = "looked_after_trend_by_region"
RATE_TREND = "looked_after_rate_change_by_region"
#: The year the seed's claim ends, from which the rates' trend is read.
SEED_END = 2017
GEOGRAPHY = "http://statistics.data.gov.uk/id/statistical-geography/"
LONDON = GEOGRAPHY + "E12000007"
#: What a local authority's page shows, in its columns' order: (measure, heading).
MEASURES = (
    (EMMIE.childrenLookedAfter, "looked after at 31 March"),
    (EMMIE.childrenStartedCare, "started to be looked after"),
    (EMMIE.childrenCeasedCare, "ceased to be looked after"),
    (EMMIE.lookedAfterRateOfficial, "rate per 10,000 (official)"),
    (EMMIE.lookedAfterRateDerived, "rate per 10,000 (derived)"),
    (EMMIE.childPovertyPercent, "child poverty (%)"),
    (EMMIE.imdAverageScore, "IMD average score"),
)


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def rate_text(value: float | None) -> str:
    """A rate as the DfE gives it: a whole number without a decimal point."""
    if value is None:
        return ""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def la_href(gss: object) -> str:
    return f"/local-authorities/{gss}"


def _factor_label(term: str, factor: str, concept: str | None) -> str:
    """An association's factor in words: a judgement by its label in the concept scheme."""
    if factor == "ofsted" and concept:
        reference = label(concept.rsplit("/", 1)[0] + "/good")
        return f"Ofsted judgement: {label(concept)} (compared with {reference})"
    return term


def _association_rows() -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The associations for the page, and each authority's first SIF judgement (IRI)."""
    rows = select(internal(QUERY).text, what="area analysis")
    plain = [{k: _text(v) for k, v in r.items() if v is not None} for r in rows]
    analysis = analyse_rows(plain)
    judgements = {r["la"]: r["judgement"] for r in plain if "judgement" in r}
    return [
        {
            "outcome": OUTCOMES[a.outcome],
            "term": _factor_label(a.term, a.factor, a.concept),
            "n": a.n,
            "estimate": a.estimate,
            "lower": a.ci_lower,
            "upper": a.ci_upper,
        }
        for a in analysis.associations
    ], judgements


def _change(row: dict[str, Any]) -> str:
    return (
        f"{row['area_label']} {rate_text(row['rate_from'])} → {rate_text(row['rate_to'])}"
        f" ({row['change']:+.0f})"
    )


def seed_claim_answer(rows: list[dict[str, Any]], rates: dict[str, dict[int, float]]) -> str:
    """Does "London down, North up" still hold after 2017? A sentence from the rows of
    :data:`RATE_TREND` (level ``region``, from 2017 to the latest year), with the figures;
    the northern regions' peaks are read from ``rates`` (area IRI → year → rate)."""
    london = next((r for r in rows if r["area"] == LONDON), None)
    north = [r for r in rows if r.get("seed_group") == "north" and r["level"] == "region"]
    if london is None or not north:
        return (
            "The base holds no official rates for London and the northern regions in both "
            "years: whether “London down, North up” still holds cannot be said."
        )
    first, last = next(iter(rows))["year_from"], next(iter(rows))["year_to"]
    down = london["direction"] == "falling"
    up = [r for r in north if r["direction"] == "rising"]
    if down and len(up) == len(north):
        verdict = "still holds"
    elif not down and not up:
        verdict = "does not hold"
    else:
        failed = ([] if down else ["London did not fall"]) + [
            f"{r['area_label']} did not rise" for r in north if r not in up
        ]
        verdict = "holds only in part (" + "; ".join(failed) + ")"
    sentence = (
        f"From {first} to {last}, in the official rate of children looked after per 10,000 "
        f"children (the seed's claim was about counts, 2012–2017): {_change(london)}; "
        + "; ".join(_change(r) for r in north)
        + f". “London down, North up” {verdict}."
    )
    peaks = []
    for r in north:
        after = {y: v for y, v in rates.get(str(r["area"]), {}).items() if first <= y <= last}
        if after:
            year = min(after, key=lambda y: (-after[y], y))
            if after[year] > r["rate_to"]:
                peaks.append(f"{r['area_label']} {rate_text(after[year])} in {year}")
    if peaks:
        sentence += f" Below its highest since {first} in {last}: " + "; ".join(peaks) + "."
    return sentence


@blueprint.get("/local-authorities")
@offers(HTML_ONLY)
def local_authorities() -> Response:
    # Five queries and two charts: drawn once per dataset version, not per request.
    html = cached_per_version("local-authorities", (), _local_authorities_page)
    return Response(html, mimetype="text/html")


def _local_authorities_page() -> str:
    named = get(TREND)
    trend = select(named.text, named.bindings({"level": "all"}), what=TREND)
    counts: dict[str, dict[int, int | None]] = {}
    for row in select(internal("la_counts_by_year").text, what="counts by year"):
        counts.setdefault(str(row["area"]), {})[int(row["year"])] = row["count"]
    rates: dict[str, dict[int, float]] = {}
    for row in select(internal("la_official_rates").text, what="official rates"):
        rates.setdefault(str(row["area"]), {})[int(row["year"])] = float(row["rate"])
    associations, judgements = _association_rows()

    regions = [r for r in trend if r["level"] in ("england", "region")]
    regions.sort(key=lambda r: (r["level"] != "england", str(r["area_label"])))
    region_rows = [r for r in regions if r["level"] == "region"]
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
        for r in region_rows
        if (first := counts.get(str(r["area"]), {}).get(2012))
    ]
    chart = line_chart_svg(
        YEARS,
        series,
        ident="region-trend",
        title="Children looked after at 31 March by region, 2012 = 100",
        desc="One line per region (London also as Inner and Outer London): the count of "
        "each year as a percentage of its 2012 count; above 100 is a rise.",
    )

    # The official rates: every year the base holds for England and the regions.
    rate_years = sorted({y for r in regions for y in rates.get(str(r["area"]), {})})
    latest = rate_years[-1] if rate_years else None
    rate_regions = [
        {**r, "rates": [rates.get(str(r["area"]), {}).get(y) for y in rate_years]} for r in regions
    ]
    rate_chart = line_chart_svg(
        rate_years,
        [(str(r["area_label"]), r["rates"]) for r in rate_regions if r["level"] == "region"],
        ident="region-rates",
        title=f"Children looked after per 10,000 children by region, {rate_years[0]}–{latest}"
        if rate_years
        else "Children looked after per 10,000 children by region",
        desc="One line per region (London also as Inner and Outer London): the DfE's official "
        "rate of children looked after at 31 March per 10,000 children, each year.",
        reference=None,
    )
    answer_rows: list[dict[str, Any]] = []
    if latest is not None and latest > SEED_END:
        rate_query = get(RATE_TREND)
        given = {"level": "region", "from_year": str(SEED_END), "to_year": str(latest)}
        answer_rows = [
            {**r, "year_from": SEED_END, "year_to": latest}
            for r in select(rate_query.text, rate_query.bindings(given), what=RATE_TREND)
        ]
    answer = seed_claim_answer(answer_rows, rates) if answer_rows else ""

    las = []
    for r in trend:
        if r["level"] != "local_authority":
            continue
        area = str(r["area"])
        by_year = counts.get(area, {})
        values = [by_year.get(y) for y in YEARS]
        rate = rates.get(area, {})
        la_rates = [rate.get(y) for y in rate_years]
        judgement = judgements.get(area)
        las.append(
            {
                **r,
                "href": la_href(r["gss_code"]),
                "values": values,
                "sparkline": sparkline_svg(
                    [float(v) if v is not None else None for v in values],
                    label=f"{r['area_label']}: "
                    + ", ".join(
                        f"{y} {v if v is not None else 'suppressed'}"
                        for y, v in zip(YEARS, values, strict=True)
                    ),
                ),
                "rate_sparkline": sparkline_svg(
                    la_rates,
                    label=f"{r['area_label']}, rate per 10,000: "
                    + ", ".join(
                        f"{y} {rate_text(v) if v is not None else 'not available'}"
                        for y, v in zip(rate_years, la_rates, strict=True)
                    ),
                ),
                "rate_2015": rate.get(2015),
                "rate_2017": rate.get(SEED_END),
                "rate_latest": rate.get(latest) if latest is not None else None,
                "rate_change": rate[SEED_END] - rate[2015]
                if 2015 in rate and SEED_END in rate
                else None,
                "rate_change_latest": rate[latest] - rate[SEED_END]
                if latest is not None and latest in rate and SEED_END in rate
                else None,
                "judgement": label(judgement) if judgement else None,
            }
        )
    las.sort(key=lambda r: (str(r.get("region_label") or ""), str(r["area_label"])))
    return render_template(
        "local_authorities.html",
        regions=regions,
        chart=chart,
        rate_regions=rate_regions,
        rate_years=rate_years,
        rate_chart=rate_chart,
        latest=latest,
        seed_end=SEED_END,
        answer=answer,
        rate_text=rate_text,
        las=las,
        associations=associations,
        caveat=CAVEAT,
        version=dataset_version(),
        query=TREND,
        rate_query=RATE_TREND,
    )


@blueprint.get("/local-authorities/<gss>")
@offers(HTML_ONLY)
def local_authority(gss: str) -> Response:
    iri = URIRef(GEOGRAPHY + gss)
    found: list[dict[str, Any]] = []
    if gss.isascii() and gss.isalnum():
        about = internal("la_authority").prepare({"iri": iri})
        found = select(about.text, about.parameters, what="local authority")
    if not found:
        html = render_template(
            "not_found.html",
            iri=str(iri),
            detail=f"no local authority with the GSS code {gss!r} is in the base; the "
            "list of authorities is at /local-authorities",
        )
        return Response(html, status=404, mimetype="text/html")
    authority = found[0]
    observations = internal("la_observations").prepare({"iri": iri})
    table: dict[int, dict[str, str]] = {}
    present: set[str] = set()
    for row in select(observations.text, observations.parameters, what="observations"):
        measure = str(row["measure"])
        present.add(measure)
        value = row.get("value")
        status = label(row["status"])
        if value is None:
            text = status  # suppressed: never reconstructed
        elif measure in (str(EMMIE.lookedAfterRateOfficial), str(EMMIE.lookedAfterRateDerived)):
            text = rate_text(float(value))
        elif isinstance(value, float):
            text = f"{value:.1f}"
        else:
            text = f"{value:,}"
        table.setdefault(int(row["year"]), {})[measure] = text
    columns = [(str(m), heading) for m, heading in MEASURES if str(m) in present]
    projects = sorted(p for p in str(authority.get("projects") or "").split(" | ") if p)
    html = render_template(
        "local_authority.html",
        iri=str(iri),
        authority=authority,
        judgement=label(authority["judgement"]) if authority.get("judgement") else None,
        projects=projects,
        columns=columns,
        years=sorted(table),
        table=table,
        version=dataset_version(),
    )
    return Response(html, mimetype="text/html")
