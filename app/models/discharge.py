"""Failed planned discharges and their coded causes."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.base import Timestamped, Versioned, utc_field


class FailedDischarge(Timestamped, Versioned, table=True):
    id: int = Field(default=None, primary_key=True)
    stay_id: int = Field(foreign_key="stay.id", index=True)
    planned_for: datetime = utc_field(index=True)
    detail: str = Field(default="", max_length=4000)
    avoidable: bool
    logged_by_id: int = Field(foreign_key="user.id")
    logged_at: datetime = utc_field()
    follow_up_owner_role_code: str | None = Field(default=None, foreign_key="staffrole.code")
    follow_up_due_at: datetime | None = utc_field(nullable=True)
    follow_up_done_at: datetime | None = utc_field(nullable=True)


class FailedDischargeCause(SQLModel, table=True):
    failed_discharge_id: int = Field(foreign_key="faileddischarge.id", primary_key=True, ondelete="CASCADE")
    reason_code: str = Field(foreign_key="faileddischargereason.code", primary_key=True)
    is_primary: bool = False
