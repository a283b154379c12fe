"""The one SVG chart kit: columns, lines and bars for the metrics page, and the Pareto chart of
failed-discharge causes. Server-rendered, no JavaScript, no inline style attributes (the CSP's
style-src 'self' forbids them).

Colours and strokes are SVG presentation attributes; sizes scale with the chart's CSS class.
Every chart carries role="img", a <title> and a <desc> that says what it shows in words; the page
puts the same numbers in a table next to it, with a CSV download.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from app.core.clock import day_month
from app.discharges.causes import ParetoRow

# NHS identity colours, chosen to stay distinguishable for common colour-vision deficiencies.
BLUE = "#005eb8"
DARK_BLUE = "#003087"
AQUA = "#00a499"
WARM_YELLOW = "#ffb81c"
PURPLE = "#330072"
DARK_PINK = "#7c2855"
GRID = "#d8dde0"  # NHS grey 4
AXIS = "#4c6272"  # NHS grey 1
TEXT = "#212b32"  # NHS black
REFERENCE = "#768692"  # NHS grey 2
PALETTE = (BLUE, WARM_YELLOW, PURPLE, AQUA, DARK_PINK, DARK_BLUE)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    colour: str = BLUE


@dataclass(frozen=True)
class Frame:
    width: int = 760
    height: int = 300
    left: int = 56
    right: int = 16
    top: int = 36
    bottom: int = 44

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    @property
    def baseline(self) -> float:
        return self.top + self.plot_height


def _n(value: float) -> str:
    """Coordinates with at most one decimal place, no trailing zeros."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _round_step(raw: float, factors: Sequence[float]) -> float:
    """The smallest factor x 10^n at least `raw`."""
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(factor * magnitude for factor in factors if factor * magnitude >= raw)


def nice_max(value: float, ticks: int = 5) -> tuple[float, float]:
    """(axis maximum, step) with a round step (1, 2, 2.5, 5 x 10^n) and at most `ticks` steps."""
    if value <= 0:
        return 1.0, 1.0
    step = _round_step(value / ticks, (1, 2, 2.5, 5, 10))
    if step < 1 and value >= 1:
        step = 1
    return step * math.ceil(value / step - 1e-9), step


def nice_step(maximum: int, max_ticks: int = 5) -> int:
    """A whole axis step (1, 2, 5, 10, 20, 50...) giving at most `max_ticks` intervals: for counts."""
    if maximum <= max_ticks:
        return 1
    return int(_round_step(maximum / max_ticks, (1, 2, 5, 10)))


def number(value: float) -> str:
    """12 -> "12", 12.345 -> "12.3": whole numbers stay whole."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def percent(value: float) -> str:
    """33.333 -> "33.3%"."""
    return f"{value:.1f}%"


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _open(
    chart_id: str, frame: Frame, title: str, description: str, *, css_class: str = "app-chart__svg", font_size: int = 12
) -> list[str]:
    cid = escape(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{cid}" class="{css_class}" viewBox="0 0 {frame.width} '
        f'{frame.height}" width="{frame.width}" height="{frame.height}" role="img" aria-labelledby="{cid}-title '
        f'{cid}-desc" font-size="{font_size}" fill="{TEXT}">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(description)}</desc>',
    ]


def _empty(parts: list[str], frame: Frame, message: str) -> Markup:
    parts.append(
        f'<text x="{frame.width / 2:.0f}" y="{frame.top + frame.plot_height / 2:.0f}" text-anchor="middle" '
        f'font-size="14">{escape(message)}</text></svg>'
    )
    return Markup("".join(parts))  # noqa: S704 (every text value above is escaped)


def _legend(parts: list[str], frame: Frame, series: Sequence[Series]) -> None:
    x = frame.left
    for s in series:
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{s.colour}" />')
        parts.append(f'<text x="{x + 16}" y="18">{escape(s.name)}</text>')
        x += 28 + 7 * len(s.name)


def _y_axis(parts: list[str], frame: Frame, top: float, step: float, unit: str) -> None:
    right = frame.left + frame.plot_width
    value = 0.0
    while value <= top + 1e-9:
        y = frame.baseline - frame.plot_height * value / top
        label = f"{number(value)}{unit}"
        parts.append(f'<line x1="{frame.left}" y1="{_n(y)}" x2="{_n(right)}" y2="{_n(y)}" stroke="{GRID}" />')
        parts.append(
            f'<text x="{frame.left - 6}" y="{_n(y)}" text-anchor="end" dominant-baseline="middle">{label}</text>'
        )
        value += step
    parts.append(f'<path d="M{frame.left} {frame.top}V{_n(frame.baseline)}H{_n(right)}" fill="none" stroke="{AXIS}" />')


def _x_labels(parts: list[str], frame: Frame, days: Sequence[date], centre: callable) -> None:  # type: ignore[valid-type]
    """Day labels that never crowd: every day, every week, or the first of each month."""
    n = len(days)
    if n <= 14:
        chosen = range(n)
    elif n <= 92:
        chosen = range(0, n, 7)
    else:
        chosen = [i for i, d in enumerate(days) if d.day == 1] or [0]
    for i in chosen:
        x = centre(i)
        parts.append(
            f'<line x1="{_n(x)}" y1="{_n(frame.baseline)}" x2="{_n(x)}" y2="{_n(frame.baseline + 4)}" stroke="{AXIS}" />'
        )
        parts.append(
            f'<text x="{_n(x)}" y="{_n(frame.baseline + 18)}" text-anchor="middle">{day_month(days[i])}</text>'
        )


def stacked_columns(
    days: Sequence[date],
    series: Sequence[Series],
    *,
    chart_id: str,
    title: str,
    description: str,
    frame: Frame | None = None,
) -> Markup:
    """One column per day, the series stacked bottom to top (e.g. before and after midday)."""
    f = frame or Frame()
    parts = _open(chart_id, f, title, description)
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(days))]
    if not days or not any(totals):
        return _empty(parts, f, "Nothing to show in this period")
    _legend(parts, f, series)
    top, step = nice_max(max(totals))
    _y_axis(parts, f, top, step, "")
    band = f.plot_width / len(days)
    width = max(band * 0.75, 0.6)
    parts.append('<g class="app-chart__columns">')
    for i, day in enumerate(days):
        x = f.left + i * band + (band - width) / 2
        stacked = 0.0
        for s in series:
            value = s.values[i] or 0
            if not value:
                continue
            y_top = f.baseline - f.plot_height * (stacked + value) / top
            height = f.plot_height * value / top
            parts.append(
                f'<rect x="{_n(x)}" y="{_n(y_top)}" width="{_n(width)}" height="{_n(height)}" fill="{s.colour}">'
                f"<title>{day_month(day)}: {escape(s.name)} {number(value)}</title></rect>"
            )
            stacked += value
    parts.append("</g>")
    _x_labels(parts, f, days, lambda i: f.left + i * band + band / 2)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text value above is escaped)


def lines(
    days: Sequence[date],
    series: Sequence[Series],
    *,
    chart_id: str,
    title: str,
    description: str,
    unit: str = "",
    fixed_max: float | None = None,
    frame: Frame | None = None,
) -> Markup:
    """One line per series over the days; a gap where a value is missing."""
    f = frame or Frame()
    parts = _open(chart_id, f, title, description)
    known = [v for s in series for v in s.values if v is not None]
    if not days or not known:
        return _empty(parts, f, "Nothing to show in this period")
    _legend(parts, f, series)
    top, step = (fixed_max, fixed_max / 5) if fixed_max else nice_max(max(known))
    _y_axis(parts, f, top, step, unit)
    span = f.plot_width / max(len(days) - 1, 1)

    def x_of(i: int) -> float:
        return f.left + (i * span if len(days) > 1 else f.plot_width / 2)

    for s in series:
        segment: list[str] = []
        paths: list[str] = []
        for i, value in enumerate(s.values):
            if value is None:
                if segment:
                    paths.append(" ".join(segment))
                segment = []
                continue
            y = f.baseline - f.plot_height * value / top
            segment.append(f"{'M' if not segment else 'L'}{_n(x_of(i))} {_n(y)}")
        if segment:
            paths.append(" ".join(segment))
        for path in paths:
            parts.append(
                f'<path d="{path}" fill="none" stroke="{s.colour}" stroke-width="2.5" stroke-linejoin="round" />'
            )
        if len(days) <= 31:
            for i, value in enumerate(s.values):
                if value is not None:
                    y = f.baseline - f.plot_height * value / top
                    parts.append(
                        f'<circle cx="{_n(x_of(i))}" cy="{_n(y)}" r="3" fill="{s.colour}">'
                        f"<title>{day_month(days[i])}: {escape(s.name)} {number(value)}{unit}</title></circle>"
                    )
    _x_labels(parts, f, days, x_of)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text value above is escaped)


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    chart_id: str,
    title: str,
    description: str,
    unit: str = "",
    fixed_max: float | None = None,
    colour: str = BLUE,
    label_width: int = 240,
) -> Markup:
    """Horizontal bars, one per label, value written at the end of each bar."""
    row = 28
    f = Frame(height=max(80, 24 + row * len(labels) + 28), left=label_width, right=64, top=12, bottom=28)
    parts = _open(chart_id, f, title, description)
    if not labels or not any(values):
        return _empty(parts, Frame(height=80), "Nothing to show in this period")
    top, step = (fixed_max, fixed_max / 5) if fixed_max else nice_max(max(values))
    right = f.left + f.plot_width
    value = 0.0
    while value <= top + 1e-9:
        x = f.left + f.plot_width * value / top
        parts.append(f'<line x1="{_n(x)}" y1="{f.top}" x2="{_n(x)}" y2="{_n(f.baseline)}" stroke="{GRID}" />')
        parts.append(f'<text x="{_n(x)}" y="{_n(f.baseline + 16)}" text-anchor="middle">{number(value)}{unit}</text>')
        value += step
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        y = f.top + i * row + 4
        width = f.plot_width * (v or 0) / top
        short = shorten(label, label_width // 7)
        parts.append(
            f'<text x="{f.left - 8}" y="{_n(y + 10)}" text-anchor="end" dominant-baseline="middle">{escape(short)}</text>'
        )
        parts.append(
            f'<rect x="{f.left}" y="{_n(y)}" width="{_n(width)}" height="20" fill="{colour}">'
            f"<title>{escape(label)}: {number(v)}{unit}</title></rect>"
        )
        parts.append(
            f'<text x="{_n(f.left + width + 6)}" y="{_n(y + 10)}" dominant-baseline="middle">{f"{v:.1f}" if unit == "%" else number(v)}{unit}</text>'
        )
    parts.append(f'<path d="M{f.left} {f.top}V{_n(f.baseline)}" fill="none" stroke="{AXIS}" />')
    parts.append(f'<line x1="{f.left}" y1="{_n(f.baseline)}" x2="{_n(right)}" y2="{_n(f.baseline)}" stroke="{AXIS}" />')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text value above is escaped)


# The Pareto chart of failed-discharge causes ------------------------------------------------------

PARETO_FRAME = Frame(height=440, left=100, right=64, top=24, bottom=170)  # left: the first slanted label
PARETO_LABEL_CHARS = 30
PARETO_LABEL_ANGLE = -55  # steep enough that long cause names fit under their bars


def pareto_svg(
    rows: Sequence[ParetoRow],
    *,
    title: str,
    description: str,
    chart_id: str = "pareto-chart",
    frame: Frame = PARETO_FRAME,
) -> Markup:
    """Bars of counts (left axis) sorted high to low, with the cumulative % line (right axis)."""
    g = frame
    parts = _open(chart_id, g, title, description, css_class="app-pareto__svg", font_size=13)
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
        y = _n(y_count(tick))
        parts.append(f'<line x1="{g.left}" y1="{y}" x2="{right_edge}" y2="{y}" stroke="{GRID}" />')
        parts.append(f'<text x="{g.left - 8}" y="{y}" text-anchor="end" dominant-baseline="middle">{tick}</text>')
    parts.append("</g>")
    # Right axis (cumulative %).
    parts.append('<g class="app-pareto__percent-axis">')
    for tick in range(0, 101, 20):
        y = _n(y_percent(tick))
        parts.append(f'<line x1="{right_edge}" y1="{y}" x2="{right_edge + 5}" y2="{y}" stroke="{AXIS}" />')
        parts.append(f'<text x="{right_edge + 8}" y="{y}" dominant-baseline="middle">{tick}%</text>')
    parts.append("</g>")
    # The 80% reference line (the "vital few" in Pareto analysis).
    y80 = _n(y_percent(80))
    parts.append(
        f'<line class="app-pareto__reference" x1="{g.left}" y1="{y80}" x2="{right_edge}" y2="{y80}" '
        f'stroke="{REFERENCE}" stroke-dasharray="6 4" />'
    )
    # Axes.
    parts.append(f'<path d="M{g.left} {g.top}V{g.baseline}H{right_edge}V{g.top}" fill="none" stroke="{AXIS}" />')
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
            f'height="{_n(g.baseline - y)}" fill="{BLUE}"><title>{escape(tooltip)}</title></rect>'
        )
        parts.append(f'<text x="{_n(centre)}" y="{_n(y - 4)}" text-anchor="middle">{row.count}</text>')
        parts.append(
            f'<text transform="translate({_n(centre + 4)} {g.baseline + 12}) rotate({PARETO_LABEL_ANGLE})" '
            'text-anchor="end" font-size="12">'
            f"{escape(shorten(row.label, PARETO_LABEL_CHARS))}</text>"
        )
        points.append((centre, y_percent(row.cumulative_percent)))
    parts.append("</g>")
    # Cumulative line with a marker per cause.
    polyline = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
    parts.append(
        f'<polyline class="app-pareto__line" points="{polyline}" fill="none" stroke="{PURPLE}" '
        'stroke-width="2.5" stroke-linejoin="round" />'
    )
    parts.append('<g class="app-pareto__markers">')
    for (x, y), row in zip(points, rows, strict=True):
        parts.append(
            f'<circle cx="{_n(x)}" cy="{_n(y)}" r="4" fill="{PURPLE}">'
            f"<title>{escape(row.label)}: cumulative {percent(row.cumulative_percent)}</title></circle>"
        )
    parts.append("</g></svg>")
    return Markup("".join(parts))  # noqa: S704 (every text value above is escaped)
