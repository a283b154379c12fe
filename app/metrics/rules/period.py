"""Periods of London days, the 08:00 census instant, and the small sums every metric uses."""

from __future__ import annotations

import statistics
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property

from app.core.clock import london_at, london_start_of_day

CENSUS_TIME = time(8, 0)  # the daily snapshot, London clock
MAX_PERIOD_DAYS = 400


@dataclass(frozen=True)
class Period:
    """London dates from `date_from` to `date_to`, both included."""

    date_from: date
    date_to: date

    def __post_init__(self) -> None:
        if self.date_to < self.date_from:
            raise ValueError("a period cannot end before it starts")

    @property
    def days(self) -> list[date]:
        return [self.date_from + timedelta(days=i) for i in range(self.length)]

    @property
    def length(self) -> int:
        return (self.date_to - self.date_from).days + 1

    @cached_property
    def start(self) -> datetime:
        """Midnight starting the first day, as UTC."""
        return london_start_of_day(self.date_from)

    @cached_property
    def end(self) -> datetime:
        """Midnight ending the last day, as UTC (exclusive)."""
        return london_start_of_day(self.date_to + timedelta(days=1))

    def index(self, day: date) -> int:
        return (day - self.date_from).days

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.date_from <= day <= self.date_to

    @classmethod
    def ending(cls, last_day: date, days: int) -> Period:
        return cls(last_day - timedelta(days=days - 1), last_day)


def census_instant(day: date) -> datetime:
    return london_at(day, CENSUS_TIME)


def percent(part: int | float, whole: int | float) -> float | None:
    return None if not whole else 100 * part / whole


def mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def in_scope(ward_id: int | None, ward_ids: Collection[int] | None) -> bool:
    """`ward_ids` None means every ward."""
    return ward_ids is None or ward_id in ward_ids
