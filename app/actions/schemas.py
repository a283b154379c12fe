from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from app.core.types import ActionText, Code, Id, PartialUpdate, UtcMoment, Version


class ActionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: ActionText
    owner_role_code: Code
    due_at: UtcMoment | None = None
    board_round_id: Id | None = None


class ActionUpdate(PartialUpdate):
    clearable = frozenset({"due_at"})

    description: ActionText | None = None
    owner_role_code: Code | None = None
    due_at: UtcMoment | None = None
    done: bool | None = None
    version: Version | None = None


class ActionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    stay_id: int
    board_round_id: int | None
    description: str
    owner_role_code: str
    due_at: datetime | None
    done_at: datetime | None
    done_by_id: int | None
    created_by_id: int
    created_at: datetime
    version: int
