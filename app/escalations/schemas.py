from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from app.core.types import Code, Reason, RequiredText, UtcMoment, Version


class EscalationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category_code: Code
    help_needed: RequiredText
    needed_by: UtcMoment | None = None


class EscalationStep(BaseModel):
    """Act on an escalation: acknowledge, add a note, escalate a level, or resolve."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["acknowledge", "note", "escalate", "resolve"]
    note: Reason = ""
    version: Version | None = None


class EscalationEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    level: int
    note: str
    actor_id: int
    at: datetime


class EscalationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    stay_id: int
    category_code: str
    help_needed: str
    needed_by: datetime | None
    level: int
    status: str
    raised_by_id: int
    raised_at: datetime
    level_since: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    outcome: str
    version: int
    events: list[EscalationEventPublic] = []
