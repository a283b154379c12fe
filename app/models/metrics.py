"""Per-ward, per-day metrics figures kept for closed days, and the marks that say which are stale.

A metrics report over a year adds up wards x days of these rows (sums in SQL) instead of re-reading a year of
stays and reviews (app.metrics.stored.ward_days). Writes that change a closed day's facts (a backdated
discharge, a cancelled transfer, a review for an earlier day...) leave a `MetricsStale` mark in
the same transaction (app.metrics.stored.staleness); the next refresh forgets the rows a mark touches and
builds them again from the facts.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.models.base import utc_field


class MetricsDay(SQLModel, table=True):
    """One ward's closed London day: the 08:00 census and the discharges, as counts."""

    ward_id: int = Field(foreign_key="ward.id", primary_key=True)
    day: date = Field(primary_key=True)
    # The 08:00 census (app.metrics.rules.census.CensusDay).
    patients: int = 0
    nctr: int = 0
    los_7: int = 0
    los_14: int = 0
    los_21: int = 0
    with_edd: int = 0
    with_edd_and_ccd: int = 0
    reviewed: int = 0
    # Discharges and deaths that day (app.metrics.rules.discharges.DischargeCounts); the breakdowns are in
    # MetricsDayCount, the EDD sums per consultant in MetricsDayEdd.
    discharges: int = 0
    before_midday: int = 0
    deaths: int = 0
    with_drd: int = 0
    bed_days_lost: int = 0
    # EDD accuracy of the day's discharges (app.metrics.rules.discharges.EddSums, all consultants).
    edd_with_edd: int = 0
    edd_met_first: int = 0
    edd_drift_days: int = 0
    edd_changes: int = 0
    # Board rounds started that day, and how many before 12:30 (their lengths are in MetricsDayCount).
    rounds: int = 0
    rounds_on_time: int = 0
    built_at: datetime = utc_field(default_factory=utcnow)


class MetricsDayCount(SQLModel, table=True):
    """A breakdown of one ward's day: how many discharges had this length of stay (`los`), delay band
    (`band`), pathway (`pathway`) or destination (`destination`), and how many board rounds lasted
    this many minutes (`round_minutes`)."""

    # Covers the sums a report asks for, so SQLite reads the index alone, not the table row by row.
    __table_args__ = (Index("ix_metricsdaycount_sums", "ward_id", "day", "kind", "key", "n"),)

    ward_id: int = Field(foreign_key="ward.id", primary_key=True)
    day: date = Field(primary_key=True)
    kind: str = Field(max_length=20, primary_key=True)
    key: str = Field(max_length=20, primary_key=True)  # "" for a destination not recorded
    n: int


class MetricsDayEdd(SQLModel, table=True):
    """EDD accuracy sums of one ward's discharges on one day, per responsible consultant."""

    ward_id: int = Field(foreign_key="ward.id", primary_key=True)
    day: date = Field(primary_key=True)
    consultant: str = Field(max_length=200, primary_key=True)  # "" when not recorded
    discharges: int
    with_edd: int
    met_first_edd: int
    drift_days: int
    edd_changes: int


class MetricsMonthCount(SQLModel, table=True):
    """MetricsDayCount summed over a calendar month whose every day is stored, so a year reads a
    dozen rows per ward and key instead of 365. A row of kind "days" (n: days in the month) says
    the month is rolled up; deleting any of its days deletes the month's rows."""

    __table_args__ = (Index("ix_metricsmonthcount_sums", "ward_id", "month", "kind", "key", "n"),)

    ward_id: int = Field(foreign_key="ward.id", primary_key=True)
    month: date = Field(primary_key=True)  # the first of the month
    kind: str = Field(max_length=20, primary_key=True)
    key: str = Field(max_length=20, primary_key=True)
    n: int


class MetricsMonthEdd(SQLModel, table=True):
    """MetricsDayEdd summed over a rolled-up month (see MetricsMonthCount)."""

    ward_id: int = Field(foreign_key="ward.id", primary_key=True)
    month: date = Field(primary_key=True)
    consultant: str = Field(max_length=200, primary_key=True)
    discharges: int
    with_edd: int
    met_first_edd: int
    drift_days: int
    edd_changes: int


class MetricsStale(SQLModel, table=True):
    """Closed days a change touched. Either a stay's days from `from_at` (on every ward of its
    current history, and its discharge day), or, with `ward_id`, one ward's days between `from_at`
    and `to_at` (open-ended when empty): what a moved or deleted ward-history row used to cover."""

    id: int | None = Field(default=None, primary_key=True)
    stay_id: int | None = None  # no foreign key: a mark outlives a deleted stay
    ward_id: int | None = None
    from_at: datetime = utc_field()
    to_at: datetime | None = utc_field(nullable=True)
    marked_at: datetime = utc_field(default_factory=utcnow)


class MetricsRefresh(SQLModel, table=True):
    """One row, locked by each refresh so two never interleave (see app.metrics.stored.ward_days)."""

    id: int = Field(default=1, primary_key=True)
    refreshed_at: datetime | None = utc_field(nullable=True)
