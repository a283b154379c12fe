from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from app.core.types import Code, PartialUpdate, StateCode, UtcMoment, Version


class MilestoneUpdate(PartialUpdate):
    """Change a milestone's status (app.core.codes MILESTONE_STATUSES), due time or owner."""

    status: StateCode | None = None
    due_at: UtcMoment | None = None
    owner_role_code: Code | None = None
    version: Version | None = None


class MilestoneForm(BaseModel):
    """The one-tap status buttons on the patient page and the round step."""

    model_config = ConfigDict(extra="ignore")

    status: StateCode


class MilestonePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    stay_id: int
    type_code: str
    label: str
    owner_role_code: str
    due_at: datetime
    status: str
    done_at: datetime | None
    rag: str  # red, amber, green or complete, at the moment of the answer
    version: int
    updated_at: datetime
