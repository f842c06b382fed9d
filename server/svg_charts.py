"""Small charts drawn on the server as inline SVG (no script, no external request): an
estimate with its interval, and forest plots. Ratios are drawn on a log scale around 1,
differences on a linear scale around 0."""

from __future__ import annotations

import math
from html import escape


def _scale(values: list[float], *, ratio: bool) -> tuple[float, float]:
    points = [math.log(v) if ratio else v for v in values if not ratio or v > 0]
    null = 0.0
    low, high = min([*points, null]), max([*points, null])
    pad = (high - low) * 0.1 or 1.0
    return low - pad, high + pad


def _x(value: float, low: float, high: float, width: float, *, ratio: bool) -> float:
    point = math.log(value) if ratio and value > 0 else value
    return 8 + (point - low) / (high - low) * (width - 16)


def interval_svg(
    value: float, lower: float | None, upper: float | None, *, ratio: bool, width: int = 160
) -> str:
    """An estimate (square) and its interval (line) against the line of no effect."""
    return forest_svg([("", value, lower, upper)], ratio=ratio, width=width, label_width=0)


def forest_svg(
    rows: list[tuple[str, float, float | None, float | None]],
    *,
    ratio: bool,
    width: int = 240,
    label_width: int = 0,
    pooled: tuple[float, float | None, float | None] | None = None,
) -> str:
    """A forest plot: one row per (label, estimate, lower, upper), and the pooled estimate
    as a diamond when given."""
    if ratio and any(v <= 0 for _, v, *_ in rows):
        ratio = False
    values = [x for _, v, lo, hi in rows for x in (v, lo, hi) if x is not None]
    if pooled:
        values += [v for v in pooled if v is not None]
    low, high = _scale(values, ratio=ratio)
    row_height = 18
    count = len(rows) + (1 if pooled else 0)
    height = row_height * count + 6
    plot = width - label_width

    def x(v: float) -> float:
        return label_width + _x(v, low, high, plot, ratio=ratio)

    null = x(1.0 if ratio else 0.0)
    title = "estimates with intervals; the vertical line is no effect"
    parts = [
        f'<svg class="forest" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>",
        f'<line x1="{null:.1f}" y1="0" x2="{null:.1f}" y2="{height}" class="null-line"/>',
    ]
    for index, (name, value, lower, upper) in enumerate(rows):
        y = index * row_height + 12
        if name:
            parts.append(f'<text x="0" y="{y + 4}" class="forest-label">{escape(name)}</text>')
        if lower is not None and upper is not None:
            parts.append(
                f'<line x1="{x(lower):.1f}" y1="{y}" x2="{x(upper):.1f}" y2="{y}" class="ci"/>'
            )
        parts.append(f'<rect x="{x(value) - 4:.1f}" y="{y - 4}" width="8" height="8" class="est"/>')
    if pooled:
        value, lower, upper = pooled
        y = len(rows) * row_height + 12
        left = x(lower) if lower is not None else x(value) - 5
        right = x(upper) if upper is not None else x(value) + 5
        parts.append(
            f'<polygon points="{left:.1f},{y} {x(value):.1f},{y - 6} {right:.1f},{y} '
            f'{x(value):.1f},{y + 6}" class="pooled"/>'
        )
        if label_width:
            parts.append(f'<text x="0" y="{y + 4}" class="forest-label">pooled</text>')
    parts.append("</svg>")
    return "".join(parts)
