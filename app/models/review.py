"""The daily criteria-to-reside review: one per stay per London date."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.models.base import Timestamped, Versioned, utc_field


class DailyReview(Timestamped, Versioned, table=True):
    __table_args__ = (
        UniqueConstraint("stay_id", "review_date"),
        CheckConstraint("day_status IN ('red', 'green')", name="day_status"),
    )

    id: int = Field(default=None, primary_key=True)
    stay_id: int = Field(foreign_key="stay.id", index=True)
    review_date: date = Field(index=True)  # Europe/London local date
    meets_criteria_to_reside: bool
    # Only when criteria to reside are not met: why the patient is still here.
    delay_reason_code: str | None = Field(default=None, foreign_key="delayreason.code")
    day_status: str = Field(max_length=5)  # red / green
    red_day_reason_code: str | None = Field(default=None, foreign_key="reddayreason.code")
    pathway: int | None = Field(default=None, foreign_key="pathway.code")
    plan: str = Field(default="", max_length=4000)
    reviewed_by_id: int = Field(foreign_key="user.id")
    reviewed_at: datetime = utc_field()
    # A late entry: a review recorded after its day (reviewed_at is then a later day), and why.
    late_entry_reason: str = Field(default="", max_length=1000, sa_column_kwargs={"server_default": ""})
    # Red/green derived from the answers (app.reviews.red_green): what the rule said, the national
    # delay code of a red day, and the reason when the team chose otherwise (day_status is the day's colour).
    derived_day_status: str | None = Field(default=None, max_length=5)
    day_status_delay_code: str | None = Field(default=None, foreign_key="delayreason.code")
    day_status_override_reason: str = Field(default="", max_length=1000, sa_column_kwargs={"server_default": ""})
    # SAFER "S": the senior review of the day (who, as typed; when, UTC).
    senior_reviewer: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})
    senior_reviewed_at: datetime | None = utc_field(nullable=True)


class ReviewCriterion(SQLModel, table=True):
    """Which criteria to reside a review found met."""

    review_id: int = Field(foreign_key="dailyreview.id", primary_key=True, ondelete="CASCADE")
    criterion_code: str = Field(foreign_key="criterion.code", primary_key=True)


class ReviewDelayReason(SQLModel, table=True):
    """Why a patient without criteria to reside is still here: one or more national delay codes,
    exactly one of them primary (the one the metrics and the NCTR snapshot count, mirrored in
    DailyReview.delay_reason_code), each with the version of the national list it was coded from."""

    __table_args__ = (
        Index(
            "ix_reviewdelayreason_one_primary",
            "review_id",
            unique=True,
            sqlite_where=text("is_primary"),
            postgresql_where=text("is_primary"),
        ),
    )

    review_id: int = Field(foreign_key="dailyreview.id", primary_key=True, ondelete="CASCADE")
    reason_code: str = Field(foreign_key="delayreason.code", primary_key=True, max_length=20)
    is_primary: bool = False
    list_version: str = Field(max_length=20)
