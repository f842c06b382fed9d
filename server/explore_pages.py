"""``/explore``: the what-works-for-whom explorer, a form over the catalogue query
``what_works_for_whom``. The URL holds the question (its parameters are the query's), so a
result can be bookmarked and shared; ``/explore.json`` or ``Accept: application/json``
returns the same answer as ``/api/queries/what_works_for_whom`` (one page: ``limit`` and
``offset`` as there). The controls list only the values that give rows for the question
asked (the facets, with counts); an empty answer says which filters to drop."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, render_template, request

from whatworks.analysis.forest_plot import INLINE_LAYOUT, ForestRow, forest_plot_svg
from whatworks.analysis.what_works import RATIO_STATISTICS
from whatworks.core.catalogue import BadParameter, Parameter, get
from whatworks.core.emmie import DIMENSIONS
from whatworks.core.formats import JSON
from whatworks.core.namespaces import concept

from .api import (
    PAGING,
    next_url,
    paging,
    what_works_answer,
    what_works_envelope,
    what_works_facets_of,
    what_works_pages,
)
from .api_error import ApiError
from .negotiation import PAGE, choose, offers
from .page_data import dataset_version, label
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


def _field(
    param: Parameter, given: dict[str, str], listed: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """A control of the form. With ``listed`` (the facet of the question asked), a choice
    offers only the values that give rows, each with its number of interventions."""
    if listed is not None and param.name != "outcome":
        options = [(str(v["value"]), f"{v['label']} ({v['n_interventions']})") for v in listed]
        current = given.get(param.name, "")
        if current and current not in {o[0] for o in options}:
            options.insert(0, (current, f"{current} (no rows)"))
    else:
        options = [
            (value, label(concept(param.scheme, value)) if param.type == "concept" else value)
            for value in param.allowed()
        ]
        if param.type == "concept":
            options.sort(key=lambda o: o[1].lower())
    return {
        "name": param.name,
        "label": param.name.replace("_", " "),
        "type": param.type,
        "required": param.required,
        "options": options if param.type in ("concept", "enum") else [],
        "suggestions": options if param.type in ("string", "integer") and listed else [],
        "value": given.get(param.name, ""),
        "description": param.description,
        "minimum": param.minimum,
        "maximum": param.maximum,
    }


def _forest(estimates: list[dict[str, Any]]) -> str:
    """A small forest plot of the estimates on the scale most of them share (ratios or
    differences of one statistic), when two or more are on it; else ""."""
    drawn = [e for e in estimates if e["value"] is not None and e["statistic"]]
    if not drawn:
        return ""
    common = max(
        {e["statistic"] for e in drawn}, key=lambda s: sum(e["statistic"] == s for e in drawn)
    )
    same = [e for e in drawn if e["statistic"] == common]
    if len(same) < 2:
        return ""
    return forest_plot_svg(
        [
            ForestRow(
                e["study_name"],
                e["value"],
                e["ci_lower"],
                e["ci_upper"],
                tip=f"{e['study_name']}: {e['text']}",
            )
            for e in same
        ],
        ratio=common in RATIO_STATISTICS,
        title=f"{FOREST_TITLE} ({label(concept('statistic', common))})",
        layout=INLINE_LAYOUT,
    )


def _row_view(row: dict[str, Any]) -> dict[str, Any]:
    profile = [
        {
            "dimension": d,
            "has": bool(row.get(f"emmie_{d}")),
            "quality": row.get(f"emmie_{d}_quality"),
        }
        for d in DIMENSIONS
    ]
    names = dict(
        zip(str(row.get("studies") or "").split(), row.get("study_names") or [], strict=False)
    )
    return {
        **row,
        "href": local_href(row["intervention"]),
        "type_label": label(row["intervention_type"]) if row.get("intervention_type") else "",
        "direction_label": DIRECTIONS.get(str(row.get("direction_summary")), "unclear"),
        "profile": profile,
        "rule_href": local_href(row["rating_rule"]) or row["rating_rule"]
        if row.get("rating_rule")
        else "",
        "forest": _forest(row.get("estimates") or []),
        "estimate_views": [
            {
                **e,
                "href": local_href(e["finding"]) or e["finding"],
                "study_href": local_href(e["study"]) or e["study"],
                "key": e["study"].rsplit("/", 1)[-1],
                "design_label": label(concept("study-design", e["design"])) if e["design"] else "",
            }
            for e in row.get("estimates") or []
        ],
        "study_links": [
            (local_href(s) or s, names.get(s, s.rsplit("/", 1)[-1]), s.rsplit("/", 1)[-1])
            for s in names
        ],
        "split": {
            key: [part for part in str(row.get(key) or "").split(" | ") if part]
            for key in ("mechanisms", "moderators", "implementation_factors", "economic")
        },
    }


def _explore_url(given: dict[str, str], **change: str | None) -> str:
    args = {**given, **{k: v for k, v in change.items() if v is not None}}
    for k, v in change.items():
        if v is None:
            args.pop(k, None)
    return "/explore?" + urlencode({k: v for k, v in args.items() if v != ""})


def _empty_sentence(empty: list[dict[str, Any]], given: dict[str, str]) -> list[dict[str, str]]:
    """Each way out of an empty answer: which filters to drop, how many rows that gives,
    and the link."""
    out = []
    for way in empty:
        names = way["parameters"]
        what = " and ".join(f"{n.replace('_', ' ')} ({given.get(n, '')})" for n in names)
        n = way["n_rows"]
        out.append(
            {
                "text": f"Without {what}: {n} intervention{'' if n == 1 else 's'}",
                "href": _explore_url(given, **{k: None for k in names}, offset=None),
            }
        )
    return out


@blueprint.get("/explore")
@blueprint.get("/explore.json")
@offers(PAGE)
def explore() -> Response:
    named = get(QUERY)
    for key in request.args:
        if len(request.args.getlist(key)) > 1:
            raise ApiError(400, f"parameter {key} is given more than once")
    given = {k: v for k, v in request.args.items() if v != "" and k != "format" and k not in PAGING}
    _, suffix_media = PAGE.split(request.path)
    media = choose(PAGE, suffix_media=suffix_media, format_param=request.args.get("format"))
    as_json = media == JSON
    limit, offset = paging(request.args)
    found = None
    listed: dict[str, list[dict[str, Any]]] = {}
    error = ""
    if given or as_json:
        try:
            named.bindings(given)
        except BadParameter as exc:
            if as_json:
                raise ApiError(400, str(exc)) from exc
            error = str(exc)
        else:
            found = what_works_answer(given)
            listed = what_works_facets_of(given)
    version = dataset_version()
    following = next_url(offset, limit, len(found.rows)) if found else None
    if as_json:
        assert found is not None
        response = jsonify(what_works_envelope(given, version, found, limit, offset, following))
        response.headers["Vary"] = "Accept"
        return response

    def page() -> tuple[str, int]:
        rows = [_row_view(r) for r in found.rows[offset : offset + limit]] if found else []
        outcome = given.get("outcome", "")
        previous = max(offset - limit, 0) if offset else None
        html = render_template(
            "explore.html",
            fields=[_field(p, given, listed.get(p.name) if found else None) for p in named.params],
            answer=found,
            rows=rows,
            total=len(found.rows) if found else 0,
            first=offset + 1,
            last=offset + len(rows),
            next_href=_explore_url(
                given, offset=str(offset + limit), limit=request.args.get("limit")
            )
            if following
            else "",
            previous_href=_explore_url(given, offset=str(previous), limit=request.args.get("limit"))
            if previous is not None
            else "",
            empty=_empty_sentence(found.empty_because, given) if found else [],
            error=error,
            version=version,
            outcome_label=label(concept("outcome", outcome)) if outcome else "",
            json_url=request.full_path.replace("/explore", "/explore.json", 1).rstrip("?"),
            api_url=request.full_path.replace("/explore", f"/api/queries/{QUERY}", 1).rstrip("?"),
            query_url=f"/api/queries#{QUERY}",
            dimensions=DIMENSIONS,
        )
        return html, len(html)

    if error:
        html = page()[0]
    else:
        # the page of a question is kept with its answer (see the API's answer cache)
        page_key = ("explore-html", request.full_path)
        html = what_works_pages().get(version, page_key, page)
    response = Response(html, mimetype="text/html", status=400 if error else 200)
    response.headers["Vary"] = "Accept"
    return response
