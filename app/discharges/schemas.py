from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.types import Code, LongText, PartialUpdate, UtcMoment, Version


class FailedDischargeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    planned_for: UtcMoment
    causes: list[Code] = Field(min_length=1, max_length=16)
    primary_cause: Code
    detail: LongText = ""
    avoidable: bool
    follow_up_owner_role_code: Code | None = None
    follow_up_due_at: UtcMoment | None = None

    @model_validator(mode="after")
    def _primary_in_causes(self) -> FailedDischargeCreate:
        if self.primary_cause not in self.causes:
            self.causes = [self.primary_cause, *self.causes]
        return self


class FailedDischargeUpdate(PartialUpdate):
    clearable = frozenset({"follow_up_owner_role_code", "follow_up_due_at"})

    detail: LongText | None = None
    avoidable: bool | None = None
    follow_up_owner_role_code: Code | None = None
    follow_up_due_at: UtcMoment | None = None
    follow_up_done: bool | None = None
    version: Version | None = None


class FailedDischargePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    stay_id: int
    planned_for: datetime
    causes: list[str] = []
    primary_cause: str | None = None
    detail: str
    avoidable: bool
    logged_by_id: int
    logged_at: datetime
    follow_up_owner_role_code: str | None
    follow_up_due_at: datetime | None
    follow_up_done_at: datetime | None
    version: int
