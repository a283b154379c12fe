"""Europe/London local dates and times, across the BST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.core.clock import (
    LONDON,
    day_month_year,
    is_before_midday,
    london_date,
    london_midday,
    london_start_of_day,
    london_text,
    london_wall_clock,
    midnights_between,
    midnights_since,
)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # Winter (GMT = UTC)
        (datetime(2026, 1, 10, 23, 30, tzinfo=UTC), date(2026, 1, 10)),
        # Summer (BST = UTC+1): 23:30 UTC is already tomorrow in London
        (datetime(2026, 7, 1, 23, 30, tzinfo=UTC), date(2026, 7, 2)),
        # Clocks go forward at 01:00 UTC on 29 Mar 2026
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), date(2026, 3, 29)),
        (datetime(2026, 3, 29, 23, 0, tzinfo=UTC), date(2026, 3, 30)),
        (datetime(2026, 3, 28, 23, 59, tzinfo=UTC), date(2026, 3, 28)),
        # Clocks go back at 01:00 UTC on 25 Oct 2026
        (datetime(2026, 10, 24, 23, 0, tzinfo=UTC), date(2026, 10, 25)),
        (datetime(2026, 10, 25, 23, 30, tzinfo=UTC), date(2026, 10, 25)),
    ],
)
def test_london_date(moment, expected):
    assert london_date(moment) == expected


@pytest.mark.parametrize(
    ("moment", "before"),
    [
        (datetime(2026, 1, 10, 11, 59, tzinfo=UTC), True),  # 11:59 GMT
        (datetime(2026, 1, 10, 12, 0, tzinfo=UTC), False),
        (datetime(2026, 7, 1, 10, 59, tzinfo=UTC), True),  # 11:59 BST
        (datetime(2026, 7, 1, 11, 30, tzinfo=UTC), False),  # 12:30 BST
        (datetime(2026, 3, 29, 10, 30, tzinfo=UTC), True),  # change day: 11:30 BST
        (datetime(2026, 3, 29, 11, 0, tzinfo=UTC), False),
        (datetime(2026, 10, 25, 11, 30, tzinfo=UTC), True),  # change day: 11:30 GMT
    ],
)
def test_before_midday_is_london_local(moment, before):
    assert is_before_midday(moment) is before


def test_day_boundaries_on_change_days():
    # 29 Mar 2026 starts at 00:00 GMT; 30 Mar starts at 00:00 BST = 23:00 UTC on the 29th.
    assert london_start_of_day(date(2026, 3, 29)) == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    assert london_start_of_day(date(2026, 3, 30)) == datetime(2026, 3, 29, 23, 0, tzinfo=UTC)
    # The day the clocks go back lasts 25 hours.
    assert (
        london_start_of_day(date(2026, 10, 26)) - london_start_of_day(date(2026, 10, 25))
    ).total_seconds() == 25 * 3600
    assert london_midday(date(2026, 7, 1)) == datetime(2026, 7, 1, 11, 0, tzinfo=UTC)


def test_length_of_stay_counts_london_midnights():
    # Admitted 23:30 London (BST) on 1 July, seen 00:30 next day: one midnight.
    assert midnights_between(datetime(2026, 7, 1, 22, 30, tzinfo=UTC), datetime(2026, 7, 1, 23, 30, tzinfo=UTC)) == 1
    # Same day admission and discharge: zero.
    assert midnights_between(datetime(2026, 1, 5, 8, 0, tzinfo=UTC), datetime(2026, 1, 5, 20, 0, tzinfo=UTC)) == 0
    # Across the spring change.
    assert midnights_between(datetime(2026, 3, 28, 12, tzinfo=UTC), datetime(2026, 3, 30, 10, tzinfo=UTC)) == 2


def test_length_of_stay_on_a_london_date():
    admitted = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)  # 00:30 BST on 2 July
    assert midnights_since(admitted, date(2026, 7, 2)) == 0
    assert midnights_since(admitted, date(2026, 7, 9)) == 7
    assert midnights_since(admitted, date(2026, 7, 1)) == 0  # never negative


def test_naive_datetimes_are_refused():
    for convert in (london_date, london_wall_clock, is_before_midday):
        with pytest.raises(ValueError, match="naive"):
            convert(datetime(2026, 1, 1, 12, 0))


def test_fast_london_times_agree_with_the_time_zone_database():
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for hours in range(0, 3 * 366 * 24, 7):  # three years, every seventh hour, both changes each year
        moment = start + timedelta(hours=hours, minutes=hours % 60)
        assert london_wall_clock(moment) == moment.astimezone(LONDON).replace(tzinfo=None), moment
        assert london_date(moment) == moment.astimezone(LONDON).date(), moment
    for moment in (
        datetime(2026, 3, 29, 0, 59, tzinfo=UTC),
        datetime(2026, 3, 29, 1, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 59, tzinfo=UTC),
        datetime(2026, 10, 25, 1, tzinfo=UTC),
    ):
        assert london_wall_clock(moment) == moment.astimezone(LONDON).replace(tzinfo=None)
    other_zone = datetime(2026, 7, 1, 23, 30, tzinfo=UTC).astimezone(LONDON)  # an aware time in another zone
    assert london_date(other_zone) == date(2026, 7, 2)


def test_texts_use_english_month_names():
    assert day_month_year(date(2026, 11, 2)) == "2 Nov 2026"
    assert london_text(datetime(2026, 7, 1, 13, 5, tzinfo=UTC)) == "14:05 on 1 Jul 2026"
