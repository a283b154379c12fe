"""Time: store UTC, reason about the ward day in Europe/London.

"Today", review dates, "before midday" and length of stay are London local concepts that shift
with BST; everything stored is UTC. This is the one place that converts between the two (the
metrics convert tens of thousands of instants per request, so the common case is fast). The
clock is a dependency so tests can freeze it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
MIDDAY = time(12, 0)

# Fixed English names: strftime's %a and %b follow the process locale.
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: a time zone is required")
    return moment.astimezone(UTC)


# UTC -> London, fast. The UK rule (BST from 01:00 UTC on the last Sunday of March to 01:00 UTC on
# the last Sunday of October) is checked against the time zone database for each year; a year that
# does not match it falls back to the database.
_HOUR = timedelta(hours=1)


@lru_cache(maxsize=256)
def _summer_time(year: int) -> tuple[datetime, datetime] | None:
    def last_sunday(month: int) -> datetime:
        day = datetime(year, month + 1, 1, 1, tzinfo=UTC) - timedelta(days=1)
        return day - timedelta(days=(day.weekday() + 1) % 7)

    start, end = last_sunday(3), last_sunday(10)
    for instant, offset in ((start - _HOUR, 0), (start, 1), (end - _HOUR, 1), (end, 0)):
        if instant.astimezone(LONDON).utcoffset() != offset * _HOUR:
            return None
    return start, end


def _on_london_clock(moment: datetime) -> datetime:
    """The instant moved by London's offset: its date() and time() are the London wall clock's."""
    if moment.tzinfo is not UTC:
        moment = as_utc(moment)
    window = _summer_time(moment.year)
    if window is None:
        return moment.astimezone(LONDON)
    return moment + _HOUR if window[0] <= moment < window[1] else moment


def london_date(moment: datetime) -> date:
    """The Europe/London calendar date of a UTC (or any aware) moment."""
    return _on_london_clock(moment).date()


def london_wall_clock(moment: datetime) -> datetime:
    """The London wall-clock time of an aware moment, as a naive datetime."""
    return _on_london_clock(moment).replace(tzinfo=None)


def london_time(moment: datetime) -> datetime:
    """An aware moment in the Europe/London zone (for display with its offset)."""
    return as_utc(moment).astimezone(LONDON)


def london_at(day: date, clock: time) -> datetime:
    """A London wall-clock time on a London date, as UTC (BST or GMT as it was that day)."""
    return datetime.combine(day, clock, tzinfo=LONDON).astimezone(UTC)


def london_start_of_day(day: date) -> datetime:
    """Midnight at the start of a London day, as UTC (23:00 the day before in BST)."""
    return london_at(day, time(0, 0))


def london_midday(day: date) -> datetime:
    return london_at(day, MIDDAY)


def is_before_midday(moment: datetime) -> bool:
    return london_wall_clock(moment).time() < MIDDAY


def midnights_since(start: datetime, day: date) -> int:
    """Length of stay on a London date: the London midnights since `start` (NHS counts nights)."""
    return max(0, (day - london_date(start)).days)


def midnights_between(start: datetime, end: datetime) -> int:
    """Length of stay in midnights: London calendar days crossed (NHS counts nights)."""
    return midnights_since(start, london_date(end))


def day_month(day: date) -> str:
    """2 Nov"""
    return f"{day.day} {MONTH_NAMES[day.month - 1]}"


def day_month_year(day: date) -> str:
    """2 Nov 2026"""
    return f"{day_month(day)} {day.year}"


def london_text(moment: datetime) -> str:
    """An instant for a message, on the London clock: "14:05 on 2 Nov 2026" (English month names,
    whatever the process locale)."""
    local = london_wall_clock(moment)
    return f"{local:%H:%M} on {day_month_year(local)}"


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


def before_midday(moment: datetime) -> bool:
    """Whether an aware moment fell before 12:00 on the London wall clock (GMT or BST as it was)."""
    return london_wall_clock(moment).time() < MIDDAY
