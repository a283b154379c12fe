from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.types import Code, IsoDate, LongText, PathwayNumber, Reason, Version


class ReviewAnswers(BaseModel):
    """The answers of today's criteria-to-reside review for one stay."""

    model_config = ConfigDict(extra="forbid")

    meets_criteria_to_reside: bool
    criteria: list[Code] = Field(default_factory=list, max_length=12)
    delay_reason_code: Code | None = None
    day_status: Literal["red", "green"]
    red_day_reason_code: Code | None = None
    pathway: PathwayNumber | None = None
    plan: LongText = ""

    @model_validator(mode="after")
    def _consistent(self) -> ReviewAnswers:
        if self.meets_criteria_to_reside and self.delay_reason_code:
            raise ValueError("A delay reason is only recorded when criteria to reside are not met")
        if not self.meets_criteria_to_reside and self.criteria:
            raise ValueError("Criteria are only recorded when the patient meets criteria to reside")
        if self.day_status == "green" and self.red_day_reason_code:
            raise ValueError("A red-day reason is only recorded on a red day")
        return self


class ReviewRequest(ReviewAnswers):
    """Today's review for one stay. Replacing one already recorded today needs its version. With
    `review_date` an earlier day, a late entry for a day that was missed (senior roles, with
    `late_entry_reason`)."""

    version: Version | None = Field(
        default=None,
        description="The version of today's review you saw: required to replace it (428 without, 409 if stale)",
    )
    # A late entry: the earlier day (Europe/London) the review is for, and why it is late.
    review_date: IsoDate | None = None
    late_entry_reason: Reason = ""


class ReviewPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    stay_id: int
    review_date: date
    meets_criteria_to_reside: bool
    criteria: list[str] = []
    delay_reason_code: str | None
    day_status: str
    red_day_reason_code: str | None
    pathway: int | None
    plan: str
    reviewed_by_id: int
    reviewed_at: datetime
    late_entry_reason: str = ""
    version: int
