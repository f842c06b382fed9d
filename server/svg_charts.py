"""Small charts drawn on the server as inline SVG (no script, no external request): an
estimate with its interval (drawn by the one forest-plot renderer,
:mod:`whatworks.analysis.forest_plot`), grouped bar charts (EMMIE coverage) and the
evidence gap map."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from html import escape
from typing import Any

from whatworks.analysis.forest_plot import INLINE_LAYOUT, ForestRow, forest_plot_svg

# the accessible name of a small inline forest plot (one estimate, or a pooled diamond)
FOREST_TITLE = "estimates with intervals; the vertical line is no effect"


def interval_svg(
    value: float, lower: float | None, upper: float | None, *, ratio: bool, width: int = 160
) -> str:
    """An estimate (square) and its interval (line) against the line of no effect."""
    return forest_plot_svg(
        [ForestRow("", value, lower, upper)],
        ratio=ratio,
        title=FOREST_TITLE,
        layout=replace(INLINE_LAYOUT, plot_width=width),
    )


def bar_chart(
    groups: list[str],
    series: list[tuple[str, str]],
    values: list[list[int]],
    *,
    ident: str,
    title: str,
    desc: str,
    width: int = 560,
) -> str:
    """Horizontal grouped bars: ``values[g][s]`` for group ``groups[g]`` and series
    ``series[s]`` (name, colour), each bar labelled with its number; a legend on top.
    ``title`` and ``desc`` name the chart for screen readers."""
    label_width, bar, gap, top = 120, 13, 10, 28
    plot = width - label_width - 40
    most = max((v for row in values for v in row), default=0) or 1
    height = top + len(groups) * (len(series) * bar + gap) + 4
    parts = [
        f'<svg id="{ident}" class="bars" role="img" aria-labelledby="{ident}-title {ident}-desc" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(desc)}</desc>'
    ]
    x = float(label_width)
    for name, colour in series:
        parts.append(
            f'<rect x="{x:.0f}" y="6" width="12" height="12" fill="{colour}" class="swatch"/>'
            f'<text x="{x + 16:.0f}" y="16" class="bar-legend">{escape(name)}</text>'
        )
        x += 24 + 7.5 * len(name)
    for g_index, group in enumerate(groups):
        y0 = top + g_index * (len(series) * bar + gap)
        middle = y0 + len(series) * bar / 2
        parts.append(
            f'<text x="{label_width - 8}" y="{middle + 4:.1f}" class="bar-group">'
            f"{escape(group)}</text>"
        )
        for s_index, (name, colour) in enumerate(series):
            value = values[g_index][s_index]
            y = y0 + s_index * bar
            length = plot * value / most
            parts.append(
                f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar - 2}" '
                f'fill="{colour}" data-series="{escape(name)}" data-group="{escape(group)}">'
                f"<title>{escape(group)}, {escape(name)}: {value}</title></rect>"
                f'<text x="{label_width + length + 4:.1f}" y="{y + bar - 3}" class="bar-n">'
                f"{value}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken between words (a word
    longer than a line is a line of its own); never shortened."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def gap_map_svg(
    rows: list[dict[str, Any]],
    *,
    outcomes: list[str],
    columns: list[str],
    most: int,
    bubble: Callable[[Any], tuple[str, str, str, str]],
) -> str:
    """The gap map: a column per (outcome, column), a ``<g>`` per row (its ``cells`` in
    column order; a row not ``shown`` is drawn but not displayed), a bubble per non-empty
    cell with area by its number of studies. ``bubble(cell)`` gives (href, description,
    colour, a class for the circle or ""). Type rows with interventions get a toggle link
    (``toggle_href``)."""
    left, top, size, span = 330, 58, 40, len(columns)
    width = left + size * len(outcomes) * span + 10
    height = top + size * sum(1 for r in rows if r["shown"]) + 10
    out = [
        f'<svg id="gap-svg" role="group" aria-label="evidence gap map" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" '
        f'data-top="{top}" data-size="{size}">'
    ]
    for o_index, outcome in enumerate(outcomes):
        x0 = left + o_index * size * span
        out.append(
            f'<text x="{x0 + size * span / 2}" y="16" class="col-group">{escape(outcome)}</text>'
            f'<line x1="{x0}" y1="0" x2="{x0}" y2="100%" class="group-line"/>'
        )
        out.extend(
            f'<text x="{x0 + c * size + size / 2}" y="44" class="col">{escape(name)}</text>'
            for c, name in enumerate(columns)
        )
    index = 0
    for row in rows:
        out.append(_gap_row(row, index, top + index * size, left, size, most, bubble))
        index += 1 if row["shown"] else 0
    out.append("</svg>")
    return "".join(out)


def _gap_row(
    row: dict[str, Any],
    index: int,
    y0: int,
    left: int,
    size: int,
    most: int,
    bubble: Callable[[Any], tuple[str, str, str, str]],
) -> str:
    y, sub = size / 2, row["level"] == "intervention"
    hidden = "" if row["shown"] else ' display="none"'
    out = [
        f'<g class="map-row{" sub" if sub else ""}" data-key="{escape(row["key"])}" '
        f'data-parent="{escape(row["type"])}" transform="translate(0 {y0})"{hidden}>'
    ]
    # Long labels wrap onto up to three lines, never cut off (the full label is also the
    # link's accessible name).
    lines = _wrap(row["label"], 46 if sub else 42)
    first = y + 4 - 6.5 * (len(lines) - 1)
    text = " ".join(  # the space keeps the words apart in the text a screen reader reads
        f'<tspan x="{left - 8}" dy="{0 if i == 0 else 13}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    label = f'<text x="{left - 8}" y="{first}" class="row-label{" sub" if sub else ""}">'
    if sub and row["href"]:
        out.append(f'<a href="{escape(row["href"])}">{label}{text}</text></a>')
    elif sub or not row["n_interventions"]:
        # (an intervention minted under another --id-base has no page here)
        out.append(f"{label}{text}</text>")
    else:
        expanded = "true" if row["expanded"] else "false"
        out.append(
            f'<a href="{escape(row["toggle_href"])}" class="toggle" role="button" '
            f'data-type="{escape(row["type"])}" aria-expanded="{expanded}">{label}{text} '
            f'<tspan class="chevron">{"▾" if row["expanded"] else "▸"}</tspan></text></a>'
        )
    for col, cell in enumerate(row["cells"]):
        x, n = left + col * size + size / 2, cell.n_studies
        if not n:
            out.append(f'<circle cx="{x}" cy="{y}" r="2" class="gap"/>')
            continue
        place = f'data-row="{index}" data-col="{col}" '
        out.append(_bubble(cell, bubble, x=x, y=y, most=most, place=place))
    out.append("</g>")
    return "".join(out)


def _bubble(
    cell: Any,
    bubble: Callable[[Any], tuple[str, str, str, str]],
    *,
    x: float,
    y: float,
    most: int,
    place: str = "",
) -> str:
    """One cell's bubble, a link to its list of studies, sized by its number of studies
    against ``most`` (the map and its narrow-screen form draw the same bubble)."""
    href, description, colour, ring = bubble(cell)
    n = cell.n_studies
    css = f' class="{escape(ring)}"' if ring else ""
    return (
        f'<a href="{escape(href)}" class="bubble" data-cell="{escape(cell.key)}" '
        f'{place}aria-label="{escape(description)}"><title>{escape(description)}</title>'
        f'<circle cx="{x}" cy="{y}" r="{max(5.0, 18 * math.sqrt(n / most)):.1f}" '
        f'fill="{colour}"{css}/><text x="{x}" y="{y + 4}" class="n">{n}</text></a>'
    )


def gap_block_svg(
    row: dict[str, Any],
    *,
    outcomes: list[str],
    columns: list[str],
    most: int,
    bubble: Callable[[Any], tuple[str, str, str, str]],
) -> str:
    """One row of the gap map turned on its side, for narrow screens: the outcomes as rows,
    the columns (dimensions) across, the same bubbles (sizes against the same ``most``) as
    :func:`gap_map_svg`. ``row["cells"]`` are in outcome-major order."""
    left, top, size, span = 96, 24, 44, len(columns)
    width, height = left + size * span + 4, top + size * len(outcomes) + 4
    out = [
        f'<svg class="gap-block" role="group" aria-label="{escape(row["label"])}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    out.extend(
        f'<text x="{left + c * size + size / 2}" y="16" class="col">{escape(name)}</text>'
        for c, name in enumerate(columns)
    )
    for o_index, outcome in enumerate(outcomes):
        y = top + o_index * size + size / 2
        out.append(
            f'<text x="{left - 8}" y="{y + 4}" class="row-label">{escape(outcome)}</text>'
            f'<line x1="{left}" y1="{y}" x2="{left + size * span}" y2="{y}" class="guide"/>'
        )
        for c in range(span):
            cell = row["cells"][o_index * span + c]
            x, n = left + c * size + size / 2, cell.n_studies
            if not n:
                out.append(f'<circle cx="{x}" cy="{y}" r="2.5" class="gap"/>')
                continue
            out.append(_bubble(cell, bubble, x=x, y=y, most=most))
    out.append("</svg>")
    return "".join(out)


def sparkline_svg(
    values: list[float | None], *, label: str, width: int = 90, height: int = 22
) -> str:
    """A small line of ``values`` (gaps where None, e.g. a suppressed count), no axes."""
    known = [v for v in values if v is not None]
    low, high = (min(known), max(known)) if known else (0.0, 1.0)
    span = (high - low) or 1.0
    step = (width - 4) / max(len(values) - 1, 1)
    points = [
        f"{2 + i * step:.1f},{height - 2 - (v - low) / span * (height - 4):.1f}"
        for i, v in enumerate(values)
        if v is not None
    ]
    return (
        f'<svg class="sparkline" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>"
        f'<polyline points="{" ".join(points)}" fill="none" stroke="currentColor" '
        'stroke-width="1.5"/></svg>'
    )


#: The width of a label's character, in ems (generous for a sans-serif face).
_LABEL_EM = 0.62


def _last(values: list[float | None]) -> float | None:
    return next((v for v in reversed(values) if v is not None), None)


def line_chart_svg(
    years: list[int],
    series: list[tuple[str, list[float | None]]],
    *,
    ident: str,
    title: str,
    desc: str,
    width: int = 640,
    height: int = 320,
    reference: float | None = 100.0,
) -> str:
    """Lines over ``years``, one per (name, values), each named at its right end (in dark
    text after a swatch of its colour; the margin is as wide as the longest name needs, so
    no name is cut off); a dashed reference line at ``reference`` (100: the values are an
    index), or none."""
    names = [f"{name} {last:.0f}" for name, values in series if (last := _last(values)) is not None]
    left, top, bottom = 44, 12, 28
    right = max(170, 28 + round(max((len(n) for n in names), default=0) * _LABEL_EM * 12))
    width = max(width, left + right + 240)
    plot_w, plot_h = width - left - right, height - top - bottom
    known = [v for _, values in series for v in values if v is not None] or [0.0, 1.0]
    fixed = [] if reference is None else [reference]
    low, high = min([*known, *fixed]), max([*known, *fixed])
    pad = (high - low) * 0.05 or 1.0
    low, high = low - pad, high + pad

    def x(i: int) -> float:
        return left + i * plot_w / max(len(years) - 1, 1)

    def y(v: float) -> float:
        return top + (high - v) / (high - low) * plot_h

    parts = [
        f'<svg id="{ident}" class="lines" role="img" aria-labelledby="{ident}-title {ident}-desc" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(desc)}</desc>',
    ]
    if reference is not None:
        parts += [
            f'<line x1="{left}" y1="{y(reference):.1f}" x2="{left + plot_w}" '
            f'y2="{y(reference):.1f}" class="null-line" stroke="#888" stroke-dasharray="4 3"/>',
            f'<text x="{left - 6}" y="{y(reference) + 4:.1f}" text-anchor="end" class="axis">'
            f"{reference:g}</text>",
        ]
    else:
        for v in (low + pad, high - pad):
            parts.append(
                f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" class="axis">'
                f"{v:.0f}</text>"
            )
    for i, year in enumerate(years):
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - 8}" text-anchor="middle" class="axis">{year}</text>'
        )
    palette = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"]
    ends: list[float] = []
    for index, (name, values) in enumerate(series):
        colour = palette[index % len(palette)]
        dash = "" if index < len(palette) else ' stroke-dasharray="5 2"'
        points = [f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values) if v is not None]
        parts.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
            f'stroke-width="2"{dash} data-series="{escape(name)}">'
            f"<title>{escape(name)}</title></polyline>"
        )
        last = _last(values)
        if last is not None:
            end = y(last) + 4
            while any(abs(end - e) < 14 for e in ends):
                end += 14
            ends.append(end)
            parts.append(
                f'<line x1="{left + plot_w + 4}" y1="{end - 4:.1f}" x2="{left + plot_w + 18}" '
                f'y2="{end - 4:.1f}" stroke="{colour}" stroke-width="3"{dash}/>'
                f'<text x="{left + plot_w + 22}" y="{end:.1f}" fill="#1b1b1b" font-size="12" '
                f'class="line-label">{escape(name)} {last:.0f}</text>'
            )
    parts.append("</svg>")
    # labels pushed below the plot: make room for them rather than cut them off
    full = max([height, *(round(e) + 6 for e in ends)])
    if full != height:
        parts[0] = (
            parts[0]
            .replace(f'height="{height}"', f'height="{full}"', 1)
            .replace(f'0 0 {width} {height}"', f'0 0 {width} {full}"', 1)
        )
    return "".join(parts)
