"""Causes of failed discharges, counted and ranked: the Pareto table of the causes page and the
failed discharges of the metrics report. Pure functions, no database: app.discharges.queries and
app.metrics.rules count, these rank (the chart is app.metrics.present.charts.pareto_svg)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class CauseCount:
    """How often one cause was recorded in the period."""

    code: str
    label: str
    count: int  # failed discharges citing the cause (primary or contributing)
    primary: int = 0  # failed discharges where it was the main cause


def ranked(counts: Iterable[CauseCount]) -> list[CauseCount]:
    """Most cited first; ties: more often primary, then by label, then by code."""
    return sorted(counts, key=lambda c: (-c.count, -c.primary, c.label.casefold(), c.code))


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
    """Causes ranked (`ranked`), with running percentages.

    Percentages are of all cause mentions, so they add up to 100 and the cumulative column ends
    at exactly 100. Causes never mentioned are left out.
    """
    items = ranked(c for c in counts if c.count > 0)
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
