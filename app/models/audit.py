"""Append-only audit trail. A database trigger refuses UPDATE and DELETE."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer
from sqlmodel import Field, SQLModel

from app.models.base import JSONType, utc_field


class AuditEvent(SQLModel, table=True):
    __table_args__ = (
        Index("ix_auditevent_entity", "entity_type", "entity_id"),
        Index("ix_auditevent_occurred_at", "occurred_at"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    )
    occurred_at: datetime = utc_field()
    # The actor's id and, frozen at the time, their name and role.
    actor_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    actor_name: str = Field(max_length=200)
    actor_role: str = Field(default="", max_length=40)
    action: str = Field(max_length=40)  # create / update / delete / sign_in / ...
    entity_type: str = Field(max_length=40)
    entity_id: str = Field(default="", max_length=40)
    # Scope columns so the audit viewer can filter by ward and patient.
    ward_id: int | None = Field(default=None, index=True)
    patient_id: int | None = Field(default=None, index=True)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
