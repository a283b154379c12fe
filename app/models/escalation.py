"""Escalations of blockers up the ladder, with a timeline that is never deleted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field

from app.models.base import Timestamped, Versioned, utc_field


class Escalation(Timestamped, Versioned, table=True):
    __table_args__ = (CheckConstraint("status IN ('open', 'acknowledged', 'resolved')", name="status"),)

    id: int = Field(default=None, primary_key=True)
    stay_id: int = Field(foreign_key="stay.id", index=True)
    category_code: str = Field(foreign_key="delayreasonfamily.code")
    help_needed: str = Field(max_length=2000)
    needed_by: datetime | None = utc_field(nullable=True)
    level: int = Field(foreign_key="escalationlevel.code")
    status: str = Field(default="open", max_length=20, index=True)
    raised_by_id: int = Field(foreign_key="user.id")
    raised_at: datetime = utc_field()
    level_since: datetime = utc_field()
    acknowledged_at: datetime | None = utc_field(nullable=True)
    acknowledged_by_id: int | None = Field(default=None, foreign_key="user.id")
    resolved_at: datetime | None = utc_field(nullable=True)
    resolved_by_id: int | None = Field(default=None, foreign_key="user.id")
    outcome: str = Field(default="", max_length=2000)


class EscalationEvent(Timestamped, table=True):
    """One step in an escalation's life: raised, acknowledged, escalated, note, resolved."""

    id: int = Field(default=None, primary_key=True)
    escalation_id: int = Field(foreign_key="escalation.id", index=True)
    kind: str = Field(max_length=20)
    level: int = Field(foreign_key="escalationlevel.code")
    note: str = Field(default="", max_length=2000)
    actor_id: int = Field(foreign_key="user.id")
    at: datetime = utc_field()
