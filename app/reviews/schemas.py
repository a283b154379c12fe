from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.types import Code, IsoDate, LongText, PathwayNumber, Reason, ShortText, UtcMoment, Version


class DelayReasonIn(BaseModel):
    """One reason a patient without criteria to reside is still here (national delay code)."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    primary: bool = Field(default=False, description="Exactly one of the review's delay reasons is primary")


class DelayReasonPublic(BaseModel):
    code: str
    primary: bool
    list_version: str = Field(description="The version of the national delay-reason list the code is from")


class ReviewAnswers(BaseModel):
    """The answers of today's criteria-to-reside review for one stay."""

    model_config = ConfigDict(extra="forbid")

    meets_criteria_to_reside: bool
    criteria: list[Code] = Field(default_factory=list, max_length=12)
    delay_reason_code: Code | None = Field(
        default=None,
        description="The primary delay reason (without criteria to reside). Send it alone for one reason, "
        "or send `delay_reasons` (it must then name the same primary)",
    )
    delay_reasons: list[DelayReasonIn] = Field(
        default_factory=list,
        max_length=10,
        description="Every delay reason (without criteria to reside), exactly one of them primary",
    )
    day_status: Literal["red", "green"] | None = Field(
        default=None,
        description="Leave out to take the colour the rule derives from the answers (no criteria to reside, "
        "or an overdue action, undecided referral or open escalation holding discharge: red; else green). "
        "A colour other than the rule's is an override and needs `day_status_override_reason`",
    )
    day_status_override_reason: Reason = Field(default="", description="Why the day's colour differs from the rule's")
    red_day_reason_code: Code | None = None
    pathway: PathwayNumber | None = None
    plan: LongText = ""
    senior_reviewer: ShortText = Field(default="", description="SAFER: who gave today's senior review")
    senior_reviewed_at: UtcMoment | None = Field(default=None, description="SAFER: when (on the review's day)")

    @model_validator(mode="after")
    def _consistent(self) -> ReviewAnswers:
        if self.meets_criteria_to_reside and (self.delay_reason_code or self.delay_reasons):
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
    delay_reason_code: str | None = Field(description="The primary delay reason")
    delay_reasons: list[DelayReasonPublic] = []
    day_status: str = Field(description="The day's colour: the rule's, or the team's override")
    derived_day_status: str | None = Field(default=None, description="The colour the rule derived from the answers")
    day_status_delay_code: str | None = Field(default=None, description="The national delay code of a red day")
    day_status_override_reason: str = ""
    red_day_reason_code: str | None
    pathway: int | None
    plan: str
    reviewed_by_id: int
    reviewed_at: datetime
    late_entry_reason: str = ""
    senior_reviewer: str = ""
    senior_reviewed_at: datetime | None = None
    senior_review_before_midday: bool | None = Field(
        default=None, description="Whether the senior review was before 12:00 London time (None: no senior review)"
    )
    version: int
