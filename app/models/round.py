"""Board-round sessions: which ward, when, who attended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field

from app.models.base import Timestamped, Versioned, utc_field


class BoardRound(Timestamped, Versioned, table=True):
    id: int = Field(default=None, primary_key=True)
    ward_id: int = Field(foreign_key="ward.id", index=True)
    started_at: datetime = utc_field()
    ended_at: datetime | None = utc_field(nullable=True)
    started_by_id: int = Field(foreign_key="user.id")


class BoardRoundEntry(Timestamped, table=True):
    """One patient's turn in a round: reviewed, confirmed unchanged, or skipped (and when)."""

    __table_args__ = (
        UniqueConstraint("board_round_id", "stay_id"),
        CheckConstraint("outcome IN ('reviewed', 'no_change', 'skipped')", name="outcome"),
    )

    id: int = Field(default=None, primary_key=True)
    board_round_id: int = Field(foreign_key="boardround.id", index=True)
    stay_id: int = Field(foreign_key="stay.id", index=True)
    outcome: str = Field(max_length=20)
    completed_at: datetime = utc_field()
    # Seconds the team spent on this patient (from the previous patient's end).
    seconds: int = 0
    actor_id: int = Field(foreign_key="user.id")


class BoardRoundAttendee(Timestamped, table=True):
    id: int = Field(default=None, primary_key=True)
    board_round_id: int = Field(foreign_key="boardround.id", index=True)
    role_code: str = Field(foreign_key="staffrole.code")
    name: str = Field(default="", max_length=200)
