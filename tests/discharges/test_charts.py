"""The Pareto ranking (app.discharges.causes) and its SVG (app.metrics.present.charts): pure
functions, hand-built numbers."""

from __future__ import annotations

import re

import pytest

from app.discharges.causes import CauseCount, pareto_rows
from app.metrics.present.charts import PARETO_FRAME, PARETO_LABEL_CHARS, nice_step, pareto_svg, percent, shorten


def hand_built() -> list[CauseCount]:
    return [
        CauseCount("medicines", "Medicines to take home not ready", count=2, primary=1),
        CauseCount("transport", "Transport not booked", count=5, primary=2),
        CauseCount("care_home", "Care home placement not ready", count=3, primary=3),
        CauseCount("funding", "Funding decision outstanding", count=0, primary=0),
        CauseCount("package_of_care", "Package of care not in place", count=5, primary=4),
    ]


def test_causes_ranked_by_count_with_cumulative_percentages():
    rows = pareto_rows(hand_built())
    # Ties on count go to the cause more often the main one; never-cited causes are left out.
    assert [r.code for r in rows] == ["package_of_care", "transport", "care_home", "medicines"]
    assert [r.rank for r in rows] == [1, 2, 3, 4]
    assert [r.count for r in rows] == [5, 5, 3, 2]
    assert [r.primary for r in rows] == [4, 2, 3, 1]
    # 15 mentions in all.
    assert [round(r.percent, 1) for r in rows] == [33.3, 33.3, 20.0, 13.3]
    assert [round(r.cumulative_percent, 1) for r in rows] == [33.3, 66.7, 86.7, 100.0]
    assert rows[-1].cumulative_percent == 100.0  # exactly, not 99.99
    assert [percent(r.cumulative_percent) for r in rows] == ["33.3%", "66.7%", "86.7%", "100.0%"]


def test_equal_counts_and_equal_primaries_fall_back_to_the_label():
    rows = pareto_rows([CauseCount("b", "Beta", 1, 0), CauseCount("a", "alpha", 1, 0)])
    assert [r.code for r in rows] == ["a", "b"]


def test_no_causes_no_rows():
    assert pareto_rows([]) == []
    assert pareto_rows([CauseCount("x", "X", 0, 0)]) == []


@pytest.mark.parametrize(("maximum", "step"), [(1, 1), (5, 1), (6, 2), (10, 2), (11, 5), (24, 5), (26, 10), (180, 50)])
def test_axis_steps_are_round_numbers(maximum, step):
    assert nice_step(maximum) == step


def test_svg_is_accessible_and_csp_safe():
    rows = pareto_rows(hand_built() + [CauseCount("odd", 'Label with <b>"tags"</b> & more', 1, 0)])
    svg = str(pareto_svg(rows, title="Causes <ward>", description="Four causes & a line"))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert 'role="img"' in svg and 'aria-labelledby="pareto-chart-title pareto-chart-desc"' in svg
    assert '<title id="pareto-chart-title">Causes &lt;ward&gt;</title>' in svg
    assert '<desc id="pareto-chart-desc">Four causes &amp; a line</desc>' in svg
    assert "style=" not in svg  # CSP style-src 'self' blocks inline styles
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    assert "<script" not in svg


def test_svg_bars_fall_and_the_line_climbs_to_100_percent():
    rows = pareto_rows(hand_built())
    layout = PARETO_FRAME
    svg = str(pareto_svg(rows, title="t", description="d"))
    heights = [float(h) for h in re.findall(r'<rect class="app-pareto__bar"[^>]* height="([\d.]+)"', svg)]
    assert len(heights) == len(rows)
    assert heights == sorted(heights, reverse=True)
    # Tallest bar reaches the top of the count axis (5 -> axis max 5).
    assert heights[0] == pytest.approx(layout.plot_height)
    points = re.search(r'<polyline class="app-pareto__line" points="([^"]+)"', svg).group(1).split()
    ys = [float(p.split(",")[1]) for p in points]
    assert len(points) == len(rows)
    assert ys == sorted(ys, reverse=True)  # cumulative only rises (y falls on screen)
    assert ys[-1] == pytest.approx(layout.top)  # 100%
    for tick in ("0%", "20%", "80%", "100%"):
        assert f">{tick}</text>" in svg


def test_empty_chart_says_so():
    svg = str(pareto_svg([], title="t", description="d"))
    assert "No failed discharges in this period" in svg and 'role="img"' in svg and "<rect" not in svg


def test_long_labels_are_shortened_on_the_axis_only():
    assert shorten("Short", PARETO_LABEL_CHARS) == "Short"
    long = "Reablement slot or rehabilitation bed not available"
    assert len(shorten(long, PARETO_LABEL_CHARS)) <= 30 and shorten(long, PARETO_LABEL_CHARS).endswith("…")
    rows = pareto_rows([CauseCount("x", long, 1, 1)])
    svg = str(pareto_svg(rows, title="t", description="d"))
    assert long in svg  # full label kept in the bar's tooltip title
