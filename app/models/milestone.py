"""Discharge milestones: the standard tasks a pathway needs before the patient can go
(docs/milestones.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from app.models.base import Timestamped, Versioned, utc_field


class DischargeMilestone(Timestamped, Versioned, table=True):
    """One milestone of one stay: created when a pathway is set (app.milestones.service)."""

    __table_args__ = (UniqueConstraint("stay_id", "type_code", name="uq_dischargemilestone_stay_type"),)

    id: int = Field(default=None, primary_key=True)
    stay_id: int = Field(foreign_key="stay.id", index=True)
    type_code: str = Field(foreign_key="milestonetype.code", max_length=40)
    owner_role_code: str = Field(foreign_key="staffrole.code", max_length=40)
    due_at: datetime = utc_field(index=True)
    # app.core.codes MILESTONE_*: not_started, in_progress, done, not_needed
    status: str = Field(default="not_started", max_length=20)
    done_at: datetime | None = utc_field(nullable=True)
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")
