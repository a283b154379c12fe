"""Board-round sessions: which ward, when, who attended."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field

from app.models.base import Timestamped, Versioned, utc_field


class BoardRound(Timestamped, Versioned, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ward_id: int = Field(foreign_key="ward.id", index=True)
    started_at: datetime = utc_field()
    ended_at: datetime | None = utc_field(nullable=True)
    started_by_id: int = Field(foreign_key="user.id")


class BoardRoundAttendee(Timestamped, table=True):
    id: int | None = Field(default=None, primary_key=True)
    board_round_id: int = Field(foreign_key="boardround.id", index=True)
    role_code: str = Field(foreign_key="staffrole.code")
    name: str = Field(default="", max_length=200)
