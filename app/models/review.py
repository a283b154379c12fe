"""The daily criteria-to-reside review: one per stay per London date."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import Timestamped, Versioned, utc_field


class DailyReview(Timestamped, Versioned, table=True):
    __table_args__ = (
        UniqueConstraint("stay_id", "review_date"),
        CheckConstraint("day_status IN ('red', 'green')", name="day_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
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


class ReviewCriterion(SQLModel, table=True):
    """Which criteria to reside a review found met."""

    review_id: int = Field(foreign_key="dailyreview.id", primary_key=True, ondelete="CASCADE")
    criterion_code: str = Field(foreign_key="criterion.code", primary_key=True)
