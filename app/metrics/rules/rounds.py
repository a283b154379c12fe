"""Board rounds as counts per ward's day: how many started, how many before 12:30, how long."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import time

from app.core.clock import london_date, london_wall_clock
from app.metrics.rules.facts import RoundFacts
from app.metrics.rules.period import Period

ROUND_START_DEADLINE = time(12, 30)  # "round started before 12:30"


@dataclass
class RoundCounts:
    """Board rounds as counts (by the London day they started): how many, how many started before
    12:30, and the lengths of those that ended, in whole minutes (a histogram, so medians stay exact)."""

    started: int = 0
    on_time: int = 0
    minutes: Counter[int] = field(default_factory=Counter)

    def add(self, rnd: RoundFacts) -> None:
        self.started += 1
        self.on_time += london_wall_clock(rnd.started_at).time() < ROUND_START_DEADLINE
        if rnd.ended_at is not None:
            self.minutes[round_minutes(rnd)] += 1

    def merge(self, other: RoundCounts) -> None:
        self.started += other.started
        self.on_time += other.on_time
        self.minutes.update(other.minutes)


def round_minutes(rnd: RoundFacts) -> int:
    """A round's length to the nearest whole minute (half a minute rounds up)."""
    return int(((rnd.ended_at - rnd.started_at).total_seconds() + 30) // 60)  # type: ignore[operator]


def round_counts(
    rounds: Iterable[RoundFacts], period: Period, ward_ids: Collection[int]
) -> dict[int, list[RoundCounts]]:
    """Per ward in scope, per day of the period: the rounds started that day."""
    out = {ward_id: [RoundCounts() for _ in range(period.length)] for ward_id in ward_ids}
    for rnd in rounds:
        if rnd.ward_id in out and period.start <= rnd.started_at < period.end:
            out[rnd.ward_id][period.index(london_date(rnd.started_at))].add(rnd)
    return out
