"""``/explore``: the what-works-for-whom explorer, a form over the catalogue query
``what_works_for_whom``. The URL holds the question (its parameters are the query's), so a
result can be bookmarked and shared; ``/explore.json`` or ``Accept: application/json``
returns the same answer as ``/api/queries/what_works_for_whom``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request

from whatworks.analysis.forest_plot import INLINE_LAYOUT, ForestRow, forest_plot_svg
from whatworks.core.catalogue import BadParameter, Parameter, get
from whatworks.core.emmie import DIMENSIONS
from whatworks.core.formats import JSON
from whatworks.core.namespaces import concept

from .api_error import ApiError
from .negotiation import PAGE, choose, offers
from .page_data import label, run_catalogue
from .resource_views import local_href
from .svg_charts import FOREST_TITLE

blueprint = Blueprint("explore", __name__)

QUERY = "what_works_for_whom"
DIRECTIONS = {
    "favourable": "favourable",
    "mixed": "mixed",
    "no_effect": "no effect",
    "unfavourable": "unfavourable",
    "unclear": "unclear",
}


def _field(param: Parameter, given: dict[str, str]) -> dict[str, Any]:
    options = [
        (value, label(concept(param.scheme, value)) if param.type == "concept" else value)
        for value in param.allowed()
    ]
    return {
        "name": param.name,
        "label": param.name.replace("_", " "),
        "type": param.type,
        "required": param.required,
        "options": sorted(options, key=lambda o: o[1].lower())
        if param.type == "concept"
        else options,
        "value": given.get(param.name, ""),
        "description": param.description,
        "minimum": param.minimum,
        "maximum": param.maximum,
    }


def _row_view(row: dict[str, Any]) -> dict[str, Any]:
    studies = [s for s in str(row.get("studies") or "").split() if s]
    profile = [
        {
            "dimension": d,
            "has": bool(row.get(f"emmie_{d}")),
            "quality": row.get(f"emmie_{d}_quality"),
        }
        for d in DIMENSIONS
    ]
    pooled = None
    if row.get("pooled_estimate") is not None:
        statistic = str(row.get("pooled_statistic") or "")
        pooled = {
            "text": f"{label(statistic) if statistic else 'pooled'} {row['pooled_estimate']:.3g}"
            + (
                f" ({row['pooled_ci_lower']:.3g} to {row['pooled_ci_upper']:.3g})"
                if row.get("pooled_ci_lower") is not None and row.get("pooled_ci_upper") is not None
                else ""
            )
            + f", k = {row.get('pooled_k')}",
            "chart": forest_plot_svg(
                [],
                ratio="ratio" in statistic,
                title=FOREST_TITLE,
                pooled=ForestRow(
                    "pooled",
                    row["pooled_estimate"],
                    row.get("pooled_ci_lower"),
                    row.get("pooled_ci_upper"),
                ),
                layout=INLINE_LAYOUT,
            ),
        }
    return {
        **row,
        "href": local_href(row["intervention"]),
        "type_label": label(row["intervention_type"]) if row.get("intervention_type") else "",
        "direction_label": DIRECTIONS.get(str(row.get("direction_summary")), "unclear"),
        "profile": profile,
        "pooled": pooled,
        "study_links": [(local_href(s) or s, s.rsplit("/", 1)[-1]) for s in studies],
        "split": {
            key: [part for part in str(row.get(key) or "").split(" | ") if part]
            for key in ("mechanisms", "moderators", "implementation_factors", "economic")
        },
    }


@blueprint.get("/explore")
@blueprint.get("/explore.json")
@offers(PAGE)
def explore() -> Response:
    named = get(QUERY)
    given = {k: v for k, v in request.args.items() if v != "" and k != "format"}
    _, suffix_media = PAGE.split(request.path)
    media = choose(PAGE, suffix_media=suffix_media, format_param=request.args.get("format"))
    as_json = media == JSON
    answer: dict[str, Any] | None = None
    error = ""
    if given or as_json:
        try:
            bindings = named.bindings(given)
        except BadParameter as exc:
            if as_json:
                raise ApiError(400, str(exc)) from exc
            error = str(exc)
        else:
            answer = run_catalogue(named, given, bindings)
    if as_json:
        response = jsonify(answer)
        response.headers["Vary"] = "Accept"
        return response
    rows = [_row_view(r) for r in answer["rows"]] if answer else []
    outcome = given.get("outcome", "")
    html = render_template(
        "explore.html",
        fields=[_field(p, given) for p in named.params],
        answer=answer,
        rows=rows,
        error=error,
        outcome_label=label(concept("outcome", outcome)) if outcome else "",
        json_url=request.full_path.replace("/explore", "/explore.json", 1).rstrip("?"),
        api_url=request.full_path.replace("/explore", f"/api/queries/{QUERY}", 1).rstrip("?"),
        dimensions=DIMENSIONS,
    )
    response = Response(html, mimetype="text/html", status=400 if error else 200)
    response.headers["Vary"] = "Accept"
    return response
