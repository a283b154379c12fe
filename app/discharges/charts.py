"""The failed-discharge Pareto chart: ranking, percentages and a server-rendered SVG.

Pure functions, no database and no request: the view passes in counts and gets back rows for
the table and the CSV, and SVG markup for the page. The SVG uses presentation attributes only
(fill, stroke, font-size...): the app's CSP (style-src 'self') blocks inline style attributes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# NHS identity colours.
BAR_FILL = "#005eb8"  # NHS blue
LINE_STROKE = "#330072"  # NHS purple
GRID_STROKE = "#d8dde0"  # NHS grey 4
AXIS_STROKE = "#4c6272"  # NHS grey 1
TEXT_FILL = "#212b32"  # NHS black
REFERENCE_STROKE = "#768692"  # NHS grey 2
LABEL_CHARS = 30
LABEL_ANGLE = -55  # steep enough that long cause names fit under their bars


@dataclass(frozen=True)
class CauseCount:
    """How often one cause was recorded in the period."""

    code: str
    label: str
    count: int  # failed discharges citing the cause (primary or contributing)
    primary: int = 0  # failed discharges where it was the main cause


@dataclass(frozen=True)
class ParetoRow:
    rank: int
    code: str
    label: str
    count: int
    primary: int
    percent: float  # of all cause mentions in the period
    cumulative_percent: float


def pareto_rows(counts: Iterable[CauseCount]) -> list[ParetoRow]:
    """Causes ranked by count (ties: more often primary, then label), with running percentages.

    Percentages are of all cause mentions, so they add up to 100 and the cumulative column ends
    at exactly 100. Causes never mentioned are left out.
    """
    items = sorted(
        (c for c in counts if c.count > 0),
        key=lambda c: (-c.count, -c.primary, c.label.casefold(), c.code),
    )
    total = sum(c.count for c in items)
    rows: list[ParetoRow] = []
    running = 0
    for rank, cause in enumerate(items, start=1):
        running += cause.count
        rows.append(
            ParetoRow(
                rank=rank,
                code=cause.code,
                label=cause.label,
                count=cause.count,
                primary=cause.primary,
                percent=100 * cause.count / total,
                cumulative_percent=100 * running / total,
            )
        )
    return rows


def percent(value: float) -> str:
    """33.333 -> "33.3%"."""
    return f"{value:.1f}%"


def nice_step(maximum: int, max_ticks: int = 5) -> int:
    """A round axis step (1, 2, 5, 10, 20, 50...) giving at most `max_ticks` intervals."""
    if maximum <= max_ticks:
        return 1
    raw = maximum / max_ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return int(factor * magnitude)
    return int(10 * magnitude)  # pragma: no cover - the loop always returns


def shorten(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Layout:
    width: int = 760
    height: int = 440
    left: int = 100  # room for the first bar's slanted label
    right: int = 64
    top: int = 24
    bottom: int = 170

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> int:
        return self.height - self.top - self.bottom

    @property
    def baseline(self) -> int:
        return self.top + self.plot_height


def _n(value: float) -> str:
    """Coordinates with at most one decimal place, no trailing zeros."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def pareto_svg(
    rows: Sequence[ParetoRow],
    *,
    title: str,
    description: str,
    chart_id: str = "pareto-chart",
    layout: Layout | None = None,
) -> Markup:
    """Bars of counts (left axis) sorted high to low, with the cumulative % line (right axis)."""
    g = layout or Layout()
    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" class="app-pareto__svg" '
        f'viewBox="0 0 {g.width} {g.height}" width="{g.width}" height="{g.height}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" font-size="13" fill="{TEXT_FILL}">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
    ]
    if not rows:
        parts.append(
            f'<text x="{g.width / 2:.0f}" y="{g.top + g.plot_height / 2:.0f}" text-anchor="middle">'
            "No failed discharges in this period</text></svg>"
        )
        return Markup("".join(parts))  # noqa: S704 (every text value above is escaped)

    top_count = max(r.count for r in rows)
    step = nice_step(top_count)
    axis_max = step * math.ceil(top_count / step)

    def y_count(value: float) -> float:
        return g.baseline - g.plot_height * value / axis_max

    def y_percent(value: float) -> float:
        return g.baseline - g.plot_height * value / 100

    right_edge = g.left + g.plot_width
    # Grid and left axis (counts).
    parts.append('<g class="app-pareto__grid">')
    for tick in range(0, axis_max + 1, step):
        y_at = _n(y_count(tick))
        parts.append(f'<line x1="{g.left}" y1="{y_at}" x2="{right_edge}" y2="{y_at}" stroke="{GRID_STROKE}" />')
        parts.append(f'<text x="{g.left - 8}" y="{y_at}" text-anchor="end" dominant-baseline="middle">{tick}</text>')
    parts.append("</g>")
    # Right axis (cumulative %).
    parts.append('<g class="app-pareto__percent-axis">')
    for tick in range(0, 101, 20):
        y_at = _n(y_percent(tick))
        parts.append(f'<line x1="{right_edge}" y1="{y_at}" x2="{right_edge + 5}" y2="{y_at}" stroke="{AXIS_STROKE}" />')
        parts.append(f'<text x="{right_edge + 8}" y="{y_at}" dominant-baseline="middle">{tick}%</text>')
    parts.append("</g>")
    # The 80% reference line (the "vital few" in Pareto analysis).
    y80 = _n(y_percent(80))
    parts.append(
        f'<line class="app-pareto__reference" x1="{g.left}" y1="{y80}" x2="{right_edge}" y2="{y80}" '
        f'stroke="{REFERENCE_STROKE}" stroke-dasharray="6 4" />'
    )
    # Axes.
    parts.append(f'<path d="M{g.left} {g.top}V{g.baseline}H{right_edge}V{g.top}" fill="none" stroke="{AXIS_STROKE}" />')
    parts.append(
        f'<text transform="translate(16 {g.top + g.plot_height / 2:.0f}) rotate(-90)" text-anchor="middle">'
        "Failed discharges citing the cause</text>"
    )
    parts.append(
        f'<text transform="translate({g.width - 12} {g.top + g.plot_height / 2:.0f}) rotate(90)" '
        'text-anchor="middle">Cumulative % of causes</text>'
    )

    band = g.plot_width / len(rows)
    bar_width = band * 0.7
    points: list[tuple[float, float]] = []
    parts.append('<g class="app-pareto__bars">')
    for i, row in enumerate(rows):
        x = g.left + i * band + (band - bar_width) / 2
        y = y_count(row.count)
        centre = g.left + i * band + band / 2
        tooltip = f"{row.label}: {row.count} ({percent(row.percent)}), cumulative {percent(row.cumulative_percent)}"
        parts.append(
            f'<rect class="app-pareto__bar" x="{_n(x)}" y="{_n(y)}" width="{_n(bar_width)}" '
            f'height="{_n(g.baseline - y)}" fill="{BAR_FILL}"><title>{escape(tooltip)}</title></rect>'
        )
        parts.append(f'<text x="{_n(centre)}" y="{_n(y - 4)}" text-anchor="middle">{row.count}</text>')
        parts.append(
            f'<text transform="translate({_n(centre + 4)} {g.baseline + 12}) rotate({LABEL_ANGLE})" '
            'text-anchor="end" font-size="12">'
            f"{escape(shorten(row.label))}</text>"
        )
        points.append((centre, y_percent(row.cumulative_percent)))
    parts.append("</g>")
    # Cumulative line with a marker per cause.
    polyline = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
    parts.append(
        f'<polyline class="app-pareto__line" points="{polyline}" fill="none" stroke="{LINE_STROKE}" '
        'stroke-width="2.5" stroke-linejoin="round" />'
    )
    parts.append('<g class="app-pareto__markers">')
    for (x, y), row in zip(points, rows, strict=True):
        parts.append(
            f'<circle cx="{_n(x)}" cy="{_n(y)}" r="4" fill="{LINE_STROKE}">'
            f"<title>{escape(row.label)}: cumulative {percent(row.cumulative_percent)}</title></circle>"
        )
    parts.append("</g></svg>")
    return Markup("".join(parts))  # noqa: S704 (every text value above is escaped)
