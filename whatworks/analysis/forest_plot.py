"""The one forest-plot renderer: estimates with their intervals against the line of no
effect, a pooled estimate as a diamond and a prediction interval, as SVG text.

Two kinds of caller draw with it, differing only in :class:`ForestLayout`: the meta-analysis
command writes a standalone file (:data:`FILE_LAYOUT`: labels, a column of numbers, an axis
with ticks, a white background), and the server puts a small chart inline in a page
(:data:`INLINE_LAYOUT`: marks only). Every mark carries both a class (so a page's stylesheet
decides its look) and presentation attributes (so a file on its own still looks right; CSS
wins over presentation attributes). Ratios are drawn on a log axis around 1, differences on
a linear axis around 0; numbers are given on the natural scale (ratios as ratios). Nothing
is fetched from elsewhere: no links, images, scripts or styles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

__all__ = ["FILE_LAYOUT", "INLINE_LAYOUT", "ForestLayout", "ForestRow", "forest_plot_svg"]


@dataclass(frozen=True)
class ForestRow:
    """One line of the plot: an estimate and its interval on the natural scale.

    ``weight`` (a share of the total, 0-1) sizes the square; without it every square is the
    same size. ``tip`` is the hover text of the row, ``numbers`` the text printed right of
    the plot when the layout has a column for it."""

    label: str
    estimate: float
    lower: float | None = None
    upper: float | None = None
    weight: float | None = None
    tip: str = ""
    numbers: str = ""


@dataclass(frozen=True)
class ForestLayout:
    """Where things go: ``label_width`` px of row labels left of the plot, ``plot_width`` px
    of plot, ``numbers_width`` px for the numbers column right of it (none when 0); a
    heading band on top when ``heading_height`` > 0, an axis with ticks below when ``axis``;
    ``background`` fills the whole picture (for a file: a page has its own)."""

    label_width: int
    plot_width: int
    numbers_width: int = 0
    row_height: int = 24
    heading_height: int = 0
    axis: bool = False
    background: str | None = None

    @property
    def width(self) -> int:
        gap = _NUMBERS_GAP if self.numbers_width else 0
        return self.label_width + self.plot_width + gap + self.numbers_width


# where a value (natural scale) falls on the plot, in px from the left edge
_Position = Callable[[float], float]

# the gap between the plot and the numbers column
_NUMBERS_GAP = 24

FILE_LAYOUT = ForestLayout(
    label_width=210, plot_width=330, numbers_width=200, heading_height=56, axis=True,
    background="white",
)  # fmt: skip
INLINE_LAYOUT = ForestLayout(label_width=0, plot_width=180, row_height=18)


def forest_plot_svg(
    rows: Sequence[ForestRow],
    *,
    ratio: bool,
    title: str,
    layout: ForestLayout = INLINE_LAYOUT,
    pooled: ForestRow | None = None,
    prediction: ForestRow | None = None,
    description: str = "",
    numbers_heading: str = "",
    axis_label: str = "",
    ident: str = "",
) -> str:
    """A forest plot of ``rows``, then ``pooled`` (a diamond over its interval) and
    ``prediction`` (a line over its interval), as SVG text.

    ``title`` (and ``description``) name the picture for screen readers; in a layout with
    a heading band the title is also printed there, with ``numbers_heading`` over the
    numbers column. ``ident`` gives the title and description ids (leave it empty for a
    chart repeated on one page, where ids would clash). A ratio plot with a value of 0 or
    less cannot use a log axis and is drawn on a linear one instead.
    """
    if ratio and any(v <= 0 for v in _values(rows, pooled, prediction)):
        ratio = False
    low, high = _extent([_analysis(v, ratio) for v in _values(rows, pooled, prediction)])
    left, plot, rh = layout.label_width, layout.plot_width, layout.row_height
    top = layout.heading_height

    def x(value: float) -> float:
        return left + (_analysis(value, ratio) - low) / (high - low) * plot

    gap = 6 if rows and (pooled or prediction) else 0
    bottom = top + rh * (len(rows) + (pooled is not None) + (prediction is not None)) + gap
    axis_y = bottom + 6
    height = axis_y + 40 if layout.axis else bottom + 6
    width = layout.width
    numbers_x = left + plot + _NUMBERS_GAP
    title_id, desc_id, labelled = "", "", ""
    if ident:
        title_id, desc_id = f' id="{ident}-title"', f' id="{ident}-desc"'
        labelled = f' aria-labelledby="{ident}-title{f" {ident}-desc" if description else ""}"'
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="forest" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img"{labelled} '
        'font-family="sans-serif" font-size="12">',
        f"<title{title_id}>{escape(title)}</title>",
    ]
    if description:
        out.append(f"<desc{desc_id}>{escape(description)}</desc>")
    if layout.background:
        out.append(f'<rect width="{width}" height="{height}" fill="{layout.background}"/>')
    if layout.heading_height:
        out.append(f'<text x="8" y="20" font-weight="bold">{escape(title)}</text>')
        if layout.label_width:
            out.append(f'<text x="8" y="{top - 10}" font-weight="bold">Study</text>')
        if layout.numbers_width and numbers_heading:
            out.append(
                f'<text x="{numbers_x}" y="{top - 10}" font-weight="bold">'
                f"{escape(numbers_heading)}</text>"
            )
    null = x(1.0 if ratio else 0.0)
    out.append(
        f'<line x1="{null:.1f}" y1="{max(top - 4, 0)}" x2="{null:.1f}" '
        f'y2="{bottom if layout.axis else height}" '
        'class="null-line" stroke="#888" stroke-dasharray="3,3"><title>no effect</title></line>'
    )

    def row_text(row: ForestRow, cy: float, bold: str) -> None:
        if layout.label_width and row.label:
            out.append(
                f'<text x="8" y="{cy + 4:.1f}" class="forest-label"{bold}>'
                f"{escape(_clip(row.label))}</text>"
            )
        if layout.numbers_width and row.numbers:
            out.append(f'<text x="{numbers_x}" y="{cy + 4:.1f}"{bold}>{escape(row.numbers)}</text>')

    def interval(row: ForestRow, cy: float, marks: str) -> str:
        if row.lower is None or row.upper is None:
            return ""
        return (
            f'<line x1="{x(row.lower):.1f}" y1="{cy:.1f}" x2="{x(row.upper):.1f}" '
            f'y2="{cy:.1f}" {marks}/>'
        )

    for index, row in enumerate(rows):
        cy = top + rh * index + rh / 2
        side = 8.0 if row.weight is None else 4 + 10 * math.sqrt(row.weight)
        out.append(_group(row.tip))
        row_text(row, cy, "")
        out.append(interval(row, cy, 'class="ci" stroke="black"'))
        out.append(
            f'<rect x="{x(row.estimate) - side / 2:.1f}" y="{cy - side / 2:.1f}" '
            f'width="{side:.1f}" height="{side:.1f}" class="est" fill="#1f4e79"/></g>'
        )
    cy = top + rh * len(rows) + rh / 2 + gap
    if pooled is not None:
        mid = x(pooled.estimate)
        lo = x(pooled.lower) if pooled.lower is not None else mid - 5
        hi = x(pooled.upper) if pooled.upper is not None else mid + 5
        out.append(_group(pooled.tip))
        row_text(pooled, cy, ' font-weight="bold"')
        out.append(
            f'<polygon points="{lo:.1f},{cy:.1f} {mid:.1f},{cy - 7:.1f} {hi:.1f},{cy:.1f} '
            f'{mid:.1f},{cy + 7:.1f}" class="pooled" fill="#c0392b"/></g>'
        )
        cy += rh
    if prediction is not None:
        out.append(_group(prediction.tip))
        row_text(prediction, cy, "")
        out.append(interval(prediction, cy, 'class="prediction" stroke="#c0392b" stroke-width="2"'))
        out.append("</g>")
    if layout.axis:
        out.extend(_axis(low, high, ratio, x, axis_y, layout, axis_label))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _values(
    rows: Sequence[ForestRow], pooled: ForestRow | None, prediction: ForestRow | None
) -> list[float]:
    every = [*rows, *(r for r in (pooled, prediction) if r is not None)]
    return [v for r in every for v in (r.estimate, r.lower, r.upper) if v is not None]


def _analysis(value: float, ratio: bool) -> float:
    return math.log(value) if ratio else value


def _extent(points: list[float]) -> tuple[float, float]:
    """The drawn range on the analysis scale: every point and the line of no effect (0),
    with a margin so that no mark touches the edge."""
    low, high = min([*points, 0.0]), max([*points, 0.0])
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.05
    return low - pad, high + pad


def _group(tip: str) -> str:
    return f"<g><title>{escape(tip)}</title>" if tip else "<g>"


def _clip(label: str, limit: int = 30) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _axis(
    low: float,
    high: float,
    ratio: bool,
    x: _Position,
    y: float,
    layout: ForestLayout,
    label: str,
) -> list[str]:
    left, plot = layout.label_width, layout.plot_width
    out = [f'<line x1="{left}" y1="{y}" x2="{left + plot}" y2="{y}" stroke="black"/>']
    for tick in _ticks(low, high, ratio):
        tx = x(tick)
        out.append(f'<line x1="{tx:.1f}" y1="{y}" x2="{tx:.1f}" y2="{y + 4}" stroke="black"/>')
        out.append(f'<text x="{tx:.1f}" y="{y + 16}" text-anchor="middle">{tick:g}</text>')
    scale = " (log scale)" if ratio else ""
    out.append(
        f'<text x="{left + plot / 2}" y="{y + 32}" text-anchor="middle">'
        f"{escape(label)}{scale}</text>"
    )
    return out


def _ticks(lo: float, hi: float, ratio: bool) -> list[float]:
    """Tick values on the natural scale within [lo, hi] (analysis scale)."""
    if ratio:
        inside: list[float] = []
        for mantissas in ((1.0, 2.0, 5.0), (1.0, 3.0), (1.0,)):
            inside = [
                m * 10.0**e
                for e in range(-4, 5)
                for m in mantissas
                if lo <= math.log(m * 10.0**e) <= hi
            ]
            if len(inside) <= 7:
                return inside
        return inside[::2]
    span = hi - lo
    raw = span / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw), default=raw)
    first = math.ceil(lo / step) * step
    ticks = []
    value = first
    while value <= hi + 1e-12:
        ticks.append(round(value, 10))
        value += step
    return ticks
