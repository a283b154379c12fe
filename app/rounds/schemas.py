from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.actions.schemas import ActionPublic
from app.core.types import ActionText, BoundedText, Code, IsoDate, LongText, Reason, ShortText, UtcMoment, Version
from app.escalations.schemas import EscalationCreate, EscalationPublic
from app.reviews.schemas import ReviewAnswers, ReviewPublic
from app.stays.schemas import StayPublic

Strengths = Annotated[str, BoundedText(2000)]


class AttendeeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role_code: Code
    name: ShortText = ""


class RoundStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attendees: list[AttendeeIn] = Field(default_factory=list, max_length=40)


class RoundEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Version | None = None


class AttendeePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    role_code: str
    name: str


class RoundPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ward_id: int
    started_at: datetime
    ended_at: datetime | None
    started_by_id: int
    version: int
    attendees: list[AttendeePublic] = []


class StepAction(BaseModel):
    """An action agreed at the board for this patient (it is linked to the round)."""

    model_config = ConfigDict(extra="forbid")

    description: ActionText
    owner_role_code: Code
    due_at: UtcMoment | None = None


class RoundStepRequest(BaseModel):
    """One patient's turn at the board round: every answer at once, applied together or not at all.

    The stay fields below the review (EDD, clinical criteria, what matters, strengths, choice
    dates) change only when sent: leave one out to keep it as it is.
    """

    model_config = ConfigDict(extra="forbid")

    stay_version: Version | None = Field(
        default=None,
        description="The version of the stay you saw (or send it as If-Match): required (428 without, 409 if stale)",
    )
    review_version: Version | None = Field(
        default=None,
        description="The version of today's review you saw, if one was recorded today: required to replace it",
    )
    no_change: bool = Field(
        default=False,
        description="The review's answers are those of the last review before today: send this instead of `review`",
    )
    confirm_delay_reason: bool = Field(
        default=False,
        description="With no_change: the last review's reason for staying still holds (needed once it is two days old)",
    )
    review: ReviewAnswers | None = Field(
        default=None,
        validate_default=True,
        description="Today's criteria-to-reside review (its pathway becomes the stay's): required unless no_change",
    )
    expected_discharge_date: IsoDate | None = Field(
        default=None, description="Set or change the EDD (once set it cannot be cleared)"
    )
    edd_reason: Reason = Field(default="", description="Why the EDD is changing: required when it had one")
    clinical_criteria_for_discharge: LongText = ""
    what_matters: Strengths = ""
    strengths: Strengths = ""
    choice_information_given_on: IsoDate | None = None
    choice_offered_on: IsoDate | None = None
    choice_deadline: IsoDate | None = None
    actions: list[StepAction] = Field(default_factory=list, max_length=10)
    escalation: EscalationCreate | None = None

    @field_validator("review", mode="after")
    @classmethod
    def _review_or_no_change(cls, review: ReviewAnswers | None, info: ValidationInfo) -> ReviewAnswers | None:
        no_change = info.data.get("no_change", False)
        if review is None and not no_change:
            raise ValueError("Answer the review questions, or send no_change: true")
        if review is not None and no_change:
            raise ValueError("Send either the review's answers or no_change: true, not both")
        return review


class RoundEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    board_round_id: int
    stay_id: int
    outcome: Literal["reviewed", "no_change", "skipped"]
    completed_at: datetime
    seconds: int


class RoundStepPublic(BaseModel):
    """What the step recorded, and the stay as it is now (its `version` for the next write)."""

    entry: RoundEntryPublic
    stay: StayPublic
    review: ReviewPublic
    actions: list[ActionPublic]
    escalation: EscalationPublic | None
