"""``/gap-map``: the evidence gap map. Rows are the eight intervention types, each
expandable (``expand=type,...``) to its interventions; columns the three outcomes, each
split by the five EMMIE dimensions; a bubble per cell, its area the number of studies, its
colour by default the evidence tier computed by rule (docs/evidence-ratings.md), with a
curator's EMMIE-Q level shown first, ringed, where one is coded; or the best EMMIE-Q level,
or the direction of the findings (switchable). A bubble is a
link that lists the cell's studies and records; the same matrix is a real HTML table under
the picture, and ``.json`` / ``.csv`` downloads. Also the EMMIE coverage bar chart."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, render_template, request

from whatworks.analysis.ratings import (
    COMPUTED_BY_RULE,
    EVIDENCE_TIERS,
    MARYLAND_SMS,
    TIER_LABELS,
    TIER_ORDER,
)
from whatworks.core.emmie import DIMENSIONS
from whatworks.core.formats import CSV, HTML
from whatworks.core.namespaces import concept
from whatworks.core.vocab import SCHEMES

from .api_error import ApiError
from .citation import author_year
from .gap_map import (
    OUTCOMES,
    TYPES,
    Cell,
    Filters,
    GapMap,
    as_csv,
    cell_items,
    drawn_types,
    matrix,
    page_interventions,
)
from .negotiation import GAP_MAP, choose, offers
from .page_data import code, label
from .resource_views import local_href
from .svg_charts import bar_chart, gap_block_svg, gap_map_svg

blueprint = Blueprint("gap_map", __name__)

# Colour-blind-safe: viridis for the ordinal EMMIE-Q levels, Okabe-Ito for directions.
QUALITY_COLOURS = {0: "#fde725", 1: "#5ec962", 2: "#21918c", 3: "#3b528b", 4: "#440154"}
UNRATED = "#c8c8c8"
DIRECTION_COLOURS = {
    "favourable": "#0072B2",
    "mixed": "#CC79A7",
    "no_effect": "#E69F00",
    "unfavourable": "#D55E00",
    "unclear": "#999999",
    "none": "#ffffff",
}
# Blue (best) to pale orange: ordinal, and apart in lightness as well as hue.
TIER_COLOURS = {
    "well_supported": "#08306b",
    "supported": "#2171b5",
    "promising": "#6baed6",
    "does_not_meet_criteria": "#fdd0a2",
    "not_rated": "#c8c8c8",
}
#: A bubble with studies but no computed tier (a dimension the rules do not rate).
NO_TIER = "#ffffff"
COLOURINGS = ("rating", "quality", "direction")
SHORT = {
    "effect": "Eff",
    "mechanism": "Mech",
    "moderators": "Mod",
    "implementation": "Impl",
    "economic": "Econ",
}
FILTER_KEYS = ("design", "country", "verified", "year_from", "year_to", "colour", "expand")


def _year(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) != 4:
        raise ApiError(400, f"{name} must be a four-digit year, not {raw!r}")
    return int(raw)


def _filters() -> Filters:
    design = request.args.get("design", "").strip()
    if design and design not in SCHEMES["study-design"]:
        raise ApiError(
            400, f"unknown design {design!r}; designs: " + ", ".join(SCHEMES["study-design"])
        )
    return Filters(
        design=design,
        country=request.args.get("country", "").strip()[:100],
        verified=request.args.get("verified", "") in ("true", "yes", "1", "on"),
        year_from=_year("year_from"),
        year_to=_year("year_to"),
    )


def _colour(cell: Cell, by: str) -> str:
    if by == "direction":
        return DIRECTION_COLOURS[cell.direction]
    if by == "rating":
        if cell.best_quality is not None:  # a curator's level comes first
            return QUALITY_COLOURS.get(cell.best_quality, UNRATED)
        return TIER_COLOURS[cell.rating] if cell.rating else NO_TIER
    return (
        QUALITY_COLOURS.get(cell.best_quality, UNRATED)
        if cell.best_quality is not None
        else UNRATED
    )


def _query(**changes: str) -> str:
    args = {k: v for k, v in request.args.items() if k in FILTER_KEYS and v}
    args.update({k: v for k, v in changes.items()})
    return "/gap-map?" + urlencode({k: v for k, v in args.items() if v})


def _row_label(cell: Cell, gap: GapMap) -> str:
    if not cell.intervention:
        return label(concept("intervention-type", cell.type))
    found = gap.intervention(cell)
    return found.label if found and found.label else cell.intervention


def _describe(cell: Cell, gap: GapMap) -> str:
    n = cell.n_studies
    quality = (
        "no EMMIE-Q level rated by a curator"
        if cell.best_quality is None
        else f"best EMMIE-Q level {cell.best_quality} (rated by a curator)"
    )
    tier = f", evidence tier {TIER_LABELS[cell.rating]} ({COMPUTED_BY_RULE})" if cell.rating else ""
    return (
        f"{_row_label(cell, gap)}, {cell.outcome}, {cell.dimension}: "
        f"{n} stud{'y' if n == 1 else 'ies'}, {quality}{tier}, "
        f"direction {cell.direction.replace('_', ' ')}"
    )


def _rows(gap: GapMap, expanded: set[str]) -> list[dict[str, Any]]:
    """The map's rows in order: each type, then its interventions (shown when expanded)."""
    out: list[dict[str, Any]] = []
    for kind in TYPES:
        subs = page_interventions(gap, kind)
        out.append(
            {
                "key": kind,
                "type": kind,
                "label": label(concept("intervention-type", kind)),
                "level": "type",
                "shown": True,
                "expanded": kind in expanded,
                "toggle": ",".join(sorted(expanded ^ {kind})),
                "controls": " ".join(f"r-{i.row.replace('/', '-')}" for i in subs),
                "n_interventions": gap.intervention_counts[kind],
                "n_shown": len(subs),
                "download": _query(expand=kind, cell="", colour="").replace(
                    "/gap-map?", "/gap-map.csv?"
                ),
            }
        )
        out.extend(
            {
                "key": i.row,
                "type": kind,
                "id": f"r-{i.row.replace('/', '-')}",
                "label": i.label or i.row,
                "href": local_href(i.iri),
                "level": "intervention",
                "shown": kind in expanded,
            }
            for i in subs
        )
    for row in out:
        row["cells"] = [gap.cells[f"{row['key']}:{o}:{d}"] for o in OUTCOMES for d in DIMENSIONS]
    return out


def svg(gap: GapMap, rows: list[dict[str, Any]], colour_by: str) -> str:
    def bubble(cell: Cell) -> tuple[str, str, str, str]:
        # A curator's level is ringed, so it is never taken for a computed one.
        ring = "curator" if colour_by == "rating" and cell.best_quality is not None else ""
        href = _query(cell=cell.key) + "#cell"
        return href, _describe(cell, gap), _colour(cell, colour_by), ring

    most = max((c.n_studies for c in gap.cells.values()), default=0) or 1
    columns = [SHORT[d] for d in DIMENSIONS]
    for row in rows:
        row["toggle_href"] = _query(expand=row.get("toggle", "")) + "#gap-svg"
        # The same row on its side, shown instead of the picture on narrow screens.
        row["block"] = gap_block_svg(
            row, outcomes=list(OUTCOMES), columns=columns, most=most, bubble=bubble
        )
    return gap_map_svg(rows, outcomes=list(OUTCOMES), columns=columns, most=most, bubble=bubble)


def _cell_view(cell: Cell, gap: GapMap) -> dict[str, Any]:
    studies, total = cell_items(gap, cell) if cell.n_studies else ([], 0)
    listed = [
        {
            "href": local_href(s["iri"]),
            # by author(s) and year; the study's own label and key in the tooltip
            "label": author_year(s["authors"], s["year"]) or s["label"] or code(s["iri"]),
            "title": f"{s['label'] or code(s['iri'])} ({code(s['iri'])})",
            "design": label(concept("study-design", s["design"])) if s["design"] else "",
            "sms": s["sms_label"],
            "doi": s["doi"],
            "records": [
                {"href": local_href(iri), "text": text}
                for iri, text in sorted(s["records"].items(), key=lambda kv: kv[1].lower())
            ],
        }
        for s in studies
    ]
    return {
        "key": cell.key,
        "title": f"{_row_label(cell, gap)}: {cell.outcome}, {cell.dimension}",
        "description": _describe(cell, gap),
        "total": total,
        "quality": cell.best_quality,
        "rating": cell.rating,
        "rating_label": TIER_LABELS[cell.rating] if cell.rating else "",
        "rating_colour": TIER_COLOURS[cell.rating] if cell.rating else "",
        "type_row": not cell.intervention,
        "studies": sorted(listed, key=lambda s: s["label"].lower()),
    }


COVERAGE_SERIES = [  # Okabe-Ito, distinct in lightness as well as hue
    ("any outcome", "#000000"),
    ("entry", "#E69F00"),
    ("re-entry", "#56B4E9"),
    ("reunification", "#009E73"),
]


def coverage_view(counts: dict[str, dict[str, int]], *, ident: str = "coverage") -> dict[str, Any]:
    """The bar chart of EMMIE coverage (studies with evidence on each dimension, overall
    and per outcome: :func:`~server.gap_map.coverage`) and the same numbers as table rows."""
    rows = [(d, [counts[d][k] for k in ("all", *OUTCOMES)]) for d in DIMENSIONS]
    desc = "; ".join(
        f"{d}: {v[0]} studies ("
        + ", ".join(f"{o} {n}" for o, n in zip(OUTCOMES, v[1:], strict=True))
        + ")"
        for d, v in rows
    )
    return {
        "svg": bar_chart(
            list(DIMENSIONS),
            COVERAGE_SERIES,
            [v for _, v in rows],
            ident=ident,
            title="Studies with evidence on each EMMIE dimension, overall and per outcome",
            desc=desc,
        ),
        "series": [name for name, _ in COVERAGE_SERIES],
        "rows": rows,
    }


def _expanded(selected: str) -> set[str]:
    wanted = {t.strip() for t in request.args.get("expand", "").split(",")} & set(TYPES)
    if selected and "/" in selected:
        wanted.add(selected.split("/")[0])
    return wanted


@blueprint.get("/gap-map")
@blueprint.get("/gap-map.json")
@blueprint.get("/gap-map.csv")
@offers(GAP_MAP)
def gap_map() -> Response:
    filters = _filters()
    colour_by = request.args.get("colour", "rating")
    if colour_by not in COLOURINGS:
        raise ApiError(400, "colour must be " + ", ".join(COLOURINGS))
    # no format= here: the filters are the query string
    media = choose(GAP_MAP, suffix_media=GAP_MAP.split(request.path)[1])
    if media == HTML:
        selected = request.args.get("cell", "")
        expanded = _expanded(selected)
        gap = matrix(filters, expand=drawn_types(expanded))
        return _page(gap, filters, colour_by, selected, expanded)
    gap = matrix(filters, expand=_download_types(), lists=_with_lists())
    if media == CSV:
        return Response(
            as_csv(gap.cells),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="gap-map.csv"'},
        )
    response = jsonify(_as_json(gap, filters))
    response.headers["Vary"] = "Accept"
    return response


def _download_types() -> set[str] | None:
    """The types whose intervention rows a download holds: ``expand=`` (``all`` or absent:
    every type)."""
    raw = request.args.get("expand", "").strip()
    if raw in ("", "all"):
        return None
    wanted = {t.strip() for t in raw.split(",") if t.strip()}
    unknown = wanted - set(TYPES)
    if unknown:
        raise ApiError(
            400, f"unknown intervention type(s) {sorted(unknown)}; types: " + ", ".join(TYPES)
        )
    return wanted


def _with_lists() -> bool:
    raw = request.args.get("studies", "true").strip().lower()
    if raw not in ("true", "false", "yes", "no", "1", "0"):
        raise ApiError(400, f"studies must be true or false, not {raw!r}")
    return raw in ("true", "yes", "1")


def _page(
    gap: GapMap, filters: Filters, colour_by: str, selected: str, expanded: set[str]
) -> Response:
    if selected and selected not in gap.cells:
        raise ApiError(400, f"unknown cell {selected!r}")
    rows = _rows(gap, expanded)
    html = render_template(
        "gap_map.html",
        svg=svg(gap, rows, colour_by),
        table=rows,
        coverage=coverage_view(gap.coverage()),
        outcomes=OUTCOMES,
        dimensions=DIMENSIONS,
        short=SHORT,
        filters=filters,
        colour_by=colour_by,
        designs=sorted((c, label(concept("study-design", c))) for c in SCHEMES["study-design"]),
        quality_colours=QUALITY_COLOURS,
        unrated=UNRATED,
        direction_colours=DIRECTION_COLOURS,
        tier_colours=[(TIER_LABELS[t], TIER_COLOURS[t]) for t in TIER_ORDER],
        no_tier=NO_TIER,
        tier_rule=local_href(str(EVIDENCE_TIERS)),
        sms_rule=local_href(str(MARYLAND_SMS)),
        selected=_cell_view(gap.cells[selected], gap) if selected else None,
        unplaced=gap.unplaced,
        query=_query,
        describe=lambda cell: _describe(cell, gap),
        expand=",".join(sorted(expanded)),
        keep={k: v for k, v in request.args.items() if k in FILTER_KEYS and k != "expand" and v},
        json_url=_query(expand="").replace("/gap-map?", "/gap-map.json?").rstrip("?"),
        csv_url=_query(expand="").replace("/gap-map?", "/gap-map.csv?").rstrip("?"),
    )
    response = Response(html, mimetype="text/html")
    response.headers["Vary"] = "Accept"
    return response


def _as_json(gap: GapMap, filters: Filters) -> dict[str, Any]:
    cells = [c.as_json() for c in gap.cells.values()]
    return {
        "filters": dict(vars(filters)),
        "outcomes": list(OUTCOMES),
        "dimensions": list(DIMENSIONS),
        "intervention_types": list(TYPES),
        "interventions": [
            {"intervention": code(i.iri), "iri": i.iri, "label": i.label, "intervention_type": t}
            for t in TYPES
            for i in gap.interventions[t]
        ],
        "unplaced_records": gap.unplaced,
        "coverage": gap.coverage(),
        "cells": [c for c in cells if c["level"] == "type"],
        "intervention_cells": [c for c in cells if c["level"] == "intervention"],
    }
