"""Where patients are: sites, wards and beds, and the history of each bed's state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Field

from app.models.base import Timestamped, Versioned, utc_field


class Site(Timestamped, Versioned, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=10, unique=True)  # ODS site code
    name: str = Field(max_length=200)


class Ward(Timestamped, Versioned, table=True):
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    code: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=200)
    specialty: str = Field(default="", max_length=100)
    executive_sponsor_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    is_active: bool = True


class Bed(Timestamped, Versioned, table=True):
    __table_args__ = (UniqueConstraint("ward_id", "label"),)

    id: int | None = Field(default=None, primary_key=True)
    ward_id: int = Field(foreign_key="ward.id", index=True)
    label: str = Field(max_length=20)
    sort_order: int = 0
    is_open: bool = True
    # Temporary escalation (surge) bed, opened under pressure.
    is_escalation: bool = False
    # What the flow team says about the bed now (reference table `bedstate`); `is_open` is false
    # exactly when it is closed. The history, with reasons and times, is in `bedstateperiod`.
    state_code: str = Field(
        default="open", foreign_key="bedstate.code", max_length=20, sa_column_kwargs={"server_default": "open"}
    )
    # A retired bed is no longer part of the ward: kept (its history points at it), never shown.
    retired_at: datetime | None = utc_field(nullable=True)


class BedStatePeriod(Timestamped, table=True):
    """One stretch of time a bed spent in one state: how long beds stay closed, awaiting cleaning
    or reserved (time empty is the time open without a patient, from the ward history)."""

    __table_args__ = (
        # At most one current state per bed.
        Index(
            "uq_bedstateperiod_current",
            "bed_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
    )

    id: int | None = Field(default=None, primary_key=True)
    bed_id: int = Field(foreign_key="bed.id", index=True)
    state_code: str = Field(foreign_key="bedstate.code", max_length=20)
    started_at: datetime = utc_field()
    ended_at: datetime | None = utc_field(nullable=True)
    # Closed: why (reference table `bedclosurereason`).
    closure_reason_code: str | None = Field(default=None, foreign_key="bedclosurereason.code", max_length=40)
    note: str = Field(default="", max_length=500)
    # Reserved: for whom and from where (an expected admission, in the flow team's words).
    reserved_for: str = Field(default="", max_length=200)
    reserved_from: str = Field(default="", max_length=200)
    # Who set it (None: the system, e.g. a patient arriving ends a reservation).
    set_by_id: int | None = Field(default=None, foreign_key="user.id")
