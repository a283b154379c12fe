"""Actions agreed at the round: what, who (by role), by when, done."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field

from app.models.base import Timestamped, Versioned, utc_field


class Action(Timestamped, Versioned, table=True):
    id: int = Field(default=None, primary_key=True)
    stay_id: int = Field(foreign_key="stay.id", index=True)
    board_round_id: int | None = Field(default=None, foreign_key="boardround.id", index=True)
    description: str = Field(max_length=1000)
    owner_role_code: str = Field(foreign_key="staffrole.code")
    due_at: datetime | None = utc_field(nullable=True)
    done_at: datetime | None = utc_field(nullable=True)
    done_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_by_id: int = Field(foreign_key="user.id")
