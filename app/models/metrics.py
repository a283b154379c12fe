"""Per-ward, per-day metrics figures kept for closed days, and the marks that say which are stale.

A metrics report over a year adds up wards x days of these rows instead of re-reading a year of
stays and reviews (app.metrics.ward_days). Writes that change a closed day's facts (a backdated
discharge, a cancelled transfer, a review for an earlier day...) leave a `MetricsStale` mark in
the same transaction (app.metrics.staleness); the next refresh forgets the rows a mark touches and
builds them again from the facts.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.models.base import utc_field


class MetricsDay(SQLModel, table=True):
    """One ward's closed London day: the 08:00 census and the discharges, as counts."""

    ward_id: int = Field(foreign_key="ward.id", primary_key=True)
    day: date = Field(primary_key=True)
    # The 08:00 census (app.metrics.compute.CensusDay).
    patients: int = 0
    nctr: int = 0
    los_7: int = 0
    los_14: int = 0
    los_21: int = 0
    with_edd: int = 0
    with_edd_and_ccd: int = 0
    reviewed: int = 0
    # Discharges and deaths that day (app.metrics.compute.DischargeCounts); `detail` holds the
    # breakdowns as JSON (length-of-stay histogram, delay bands, pathways, destinations, EDD sums
    # per consultant), empty when nobody left.
    discharges: int = 0
    before_midday: int = 0
    deaths: int = 0
    with_drd: int = 0
    bed_days_lost: int = 0
    detail: str | None = Field(default=None, sa_type=Text)
    built_at: datetime = utc_field(default_factory=utcnow)


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
    """One row, locked by each refresh so two never interleave (see app.metrics.ward_days)."""

    id: int = Field(default=1, primary_key=True)
    refreshed_at: datetime | None = utc_field(nullable=True)
