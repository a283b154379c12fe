from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import Code, ShortText, Version


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
