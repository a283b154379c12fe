"""Time: store UTC, reason about the ward day in Europe/London.

"Today", review dates and "before midday" are London local concepts that shift with BST;
everything stored is UTC. The clock is a dependency so tests can freeze it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: a time zone is required")
    return moment.astimezone(UTC)


def london_date(moment: datetime) -> date:
    """The Europe/London calendar date of a UTC (or any aware) moment."""
    return as_utc(moment).astimezone(LONDON).date()


def london_time(moment: datetime) -> datetime:
    return as_utc(moment).astimezone(LONDON)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def london_text(moment: datetime) -> str:
    """An instant for a message, on the London clock: "14:05 on 2 Nov 2026" (English month names,
    whatever the process locale)."""
    local = london_time(moment)
    return f"{local:%H:%M} on {local.day} {_MONTHS[local.month - 1]} {local.year}"


def london_start_of_day(day: date) -> datetime:
    """Midnight at the start of a London day, as UTC (23:00 the day before in BST)."""
    return datetime.combine(day, time(0, 0), tzinfo=LONDON).astimezone(UTC)


def london_midday(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=LONDON).astimezone(UTC)


def is_before_midday(moment: datetime) -> bool:
    return london_time(moment).time() < time(12, 0)


def midnights_between(start: datetime, end: datetime) -> int:
    """Length of stay in midnights: London calendar days crossed (NHS counts nights)."""
    return max(0, (london_date(end) - london_date(start)).days)


@dataclass
class Clock:
    """Wall clock; FrozenClock in tests."""

    def now(self) -> datetime:
        return utcnow()

    def today(self) -> date:
        return london_date(self.now())


@dataclass
class FrozenClock(Clock):
    at: datetime = datetime(2026, 1, 1, 12, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, **kwargs: float) -> None:
        self.at = self.at + timedelta(**kwargs)


_clock: Clock = Clock()


def get_clock() -> Clock:
    return _clock


def current_time() -> datetime:
    """FastAPI dependency: the time of this request, from the (overridable) clock."""
    return get_clock().now()
