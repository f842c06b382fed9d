"""``/gap-map``: the evidence gap map. Rows are the eight intervention types; columns the
three outcomes, each split by the five EMMIE dimensions; a bubble per cell, its area the
number of studies, its colour the best EMMIE-Q level or the direction of the findings
(switchable). A bubble is a link that lists the cell's studies and records; the same
matrix is a real HTML table under the picture, and ``.json`` / ``.csv`` downloads."""

from __future__ import annotations

import csv
import io
import math
from html import escape
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, render_template, request

from whatworks.namespaces import concept
from whatworks.vocab import SCHEMES

from .errors import ApiError
from .gap_map import DIMENSIONS, OUTCOMES, TYPES, Cell, Filters, matrix
from .page_data import label
from .resource_views import local_href

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
SHORT = {
    "effect": "Eff",
    "mechanism": "Mech",
    "moderators": "Mod",
    "implementation": "Impl",
    "economic": "Econ",
}
FILTER_KEYS = ("design", "country", "verified", "year_from", "year_to", "colour")


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
    return (
        QUALITY_COLOURS.get(cell.best_quality, UNRATED)
        if cell.best_quality is not None
        else UNRATED
    )


def _query(**changes: str) -> str:
    args = {k: v for k, v in request.args.items() if k in FILTER_KEYS and v}
    args.update({k: v for k, v in changes.items()})
    return "/gap-map?" + urlencode({k: v for k, v in args.items() if v})


def _describe(cell: Cell) -> str:
    n = len(cell.studies)
    quality = "unrated" if cell.best_quality is None else f"best level {cell.best_quality}"
    return (
        f"{label(concept('intervention-type', cell.type))}, {cell.outcome}, {cell.dimension}: "
        f"{n} stud{'y' if n == 1 else 'ies'}, {quality}, "
        f"direction {cell.direction.replace('_', ' ')}"
    )


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def svg(cells: dict[str, Cell], colour_by: str) -> str:
    left, top, size = 330, 58, 40
    width = left + size * len(OUTCOMES) * len(DIMENSIONS) + 10
    height = top + size * len(TYPES) + 10
    most = max((len(c.studies) for c in cells.values()), default=0) or 1
    out = [
        f'<svg id="gap-svg" role="group" aria-label="evidence gap map" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for o_index, outcome in enumerate(OUTCOMES):
        x0 = left + o_index * size * len(DIMENSIONS)
        out.append(
            f'<text x="{x0 + size * len(DIMENSIONS) / 2}" y="16" class="col-group">{outcome}</text>'
            f'<line x1="{x0}" y1="0" x2="{x0}" y2="{height}" class="group-line"/>'
        )
        for d_index, dimension in enumerate(DIMENSIONS):
            out.append(
                f'<text x="{x0 + d_index * size + size / 2}" y="44" class="col">'
                f"{SHORT[dimension]}</text>"
            )
    for t_index, kind in enumerate(TYPES):
        y = top + t_index * size + size / 2
        out.append(
            f'<text x="{left - 8}" y="{y + 4}" class="row-label">'
            f"{escape(_clip(label(concept('intervention-type', kind)), 46))}</text>"
        )
        for o_index, outcome in enumerate(OUTCOMES):
            for d_index, dimension in enumerate(DIMENSIONS):
                cell = cells[f"{kind}:{outcome}:{dimension}"]
                x = left + (o_index * len(DIMENSIONS) + d_index) * size + size / 2
                n = len(cell.studies)
                if not n:
                    out.append(f'<circle cx="{x}" cy="{y}" r="2" class="gap"/>')
                    continue
                radius = max(5.0, 18 * math.sqrt(n / most))
                out.append(
                    f'<a href="{escape(_query(cell=cell.key))}#cell" class="bubble" '
                    f'data-cell="{cell.key}" data-row="{t_index}" '
                    f'data-col="{o_index * len(DIMENSIONS) + d_index}" '
                    f'aria-label="{escape(_describe(cell))}">'
                    f"<title>{escape(_describe(cell))}</title>"
                    f'<circle cx="{x}" cy="{y}" r="{radius:.1f}" '
                    f'fill="{_colour(cell, colour_by)}"/>'
                    f'<text x="{x}" y="{y + 4}" class="n">{n}</text></a>'
                )
    out.append("</svg>")
    return "".join(out)


def _cell_view(cell: Cell) -> dict[str, Any]:
    by_study: dict[str, list[dict[str, Any]]] = {}
    for item in cell.items:
        by_study.setdefault(item["study"], []).append(
            {"href": local_href(item["item"]), "text": item.get("item_text") or item["item"]}
        )
    return {
        "key": cell.key,
        "title": _describe(cell),
        "studies": [
            {"href": local_href(iri), "label": name, "records": by_study.get(iri, [])}
            for iri, name in sorted(cell.studies.items(), key=lambda kv: kv[1].lower())
        ],
    }


@blueprint.get("/gap-map")
@blueprint.get("/gap-map.json")
@blueprint.get("/gap-map.csv")
def gap_map() -> Response:
    filters = _filters()
    colour_by = request.args.get("colour", "quality")
    if colour_by not in ("quality", "direction"):
        raise ApiError(400, "colour must be quality or direction")
    cells, unplaced = matrix(filters)
    if request.path.endswith(".csv"):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        fields = [
            "intervention_type",
            "outcome",
            "dimension",
            "n_studies",
            "n_records",
            "best_quality",
            "direction",
            "studies",
        ]
        writer.writerow(fields)
        for cell in cells.values():
            row = cell.as_json()
            row["studies"] = " ".join(row["studies"])
            writer.writerow(["" if row[f] is None else row[f] for f in fields])
        return Response(
            buffer.getvalue(),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="gap-map.csv"'},
        )
    if request.path.endswith(".json") or request.accept_mimetypes.best == "application/json":
        response = jsonify(
            {
                "filters": {k: v for k, v in vars(filters).items()},
                "outcomes": list(OUTCOMES),
                "dimensions": list(DIMENSIONS),
                "intervention_types": list(TYPES),
                "unplaced_records": unplaced,
                "cells": [c.as_json() for c in cells.values()],
            }
        )
        response.headers["Vary"] = "Accept"
        return response
    selected = request.args.get("cell", "")
    if selected and selected not in cells:
        raise ApiError(400, f"unknown cell {selected!r}")
    table = [
        {
            "type": kind,
            "label": label(concept("intervention-type", kind)),
            "cells": [cells[f"{kind}:{o}:{d}"] for o in OUTCOMES for d in DIMENSIONS],
        }
        for kind in TYPES
    ]
    html = render_template(
        "gap_map.html",
        svg=svg(cells, colour_by),
        table=table,
        outcomes=OUTCOMES,
        dimensions=DIMENSIONS,
        short=SHORT,
        filters=filters,
        colour_by=colour_by,
        designs=sorted((c, label(concept("study-design", c))) for c in SCHEMES["study-design"]),
        quality_colours=QUALITY_COLOURS,
        unrated=UNRATED,
        direction_colours=DIRECTION_COLOURS,
        selected=_cell_view(cells[selected]) if selected else None,
        unplaced=unplaced,
        query=_query,
        describe=_describe,
        json_url=_query().replace("/gap-map?", "/gap-map.json?").rstrip("?"),
        csv_url=_query().replace("/gap-map?", "/gap-map.csv?").rstrip("?"),
    )
    response = Response(html, mimetype="text/html")
    response.headers["Vary"] = "Accept"
    return response
