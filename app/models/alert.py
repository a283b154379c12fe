"""Alerts: a person told that something on their ward needs them (in the app, and by email).

One row per (rule, subject, recipient): the unique constraint is what makes an alert happen
once however many workers run the check at the same moment (app/alerts/service.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field

from app.models.base import JSONType, Timestamped, Versioned, utc_field

# Email delivery of one alert: not wanted, waiting to be sent, claimed by a worker, sent, given up.
EMAIL_STATES = ("none", "pending", "sending", "sent", "failed")


class Alert(Timestamped, Versioned, table=True):
    __table_args__ = (
        UniqueConstraint("rule_code", "subject", "recipient_id"),
        Index("ix_alert_recipient_id_read_at", "recipient_id", "read_at"),
        Index("ix_alert_email_state", "email_state"),
        CheckConstraint(f"email_state IN {EMAIL_STATES!r}", name="email_state"),
    )

    id: int = Field(default=None, primary_key=True)
    rule_code: str = Field(max_length=40)
    # What the alert is about, stable across runs: "escalation:12:level:2", "action:40".
    subject: str = Field(max_length=80)
    recipient_id: int = Field(foreign_key="user.id")
    ward_id: int = Field(foreign_key="ward.id")
    stay_id: int | None = Field(default=None, foreign_key="stay.id")
    # Bed and initials only: never a name or an NHS number.
    title: str = Field(max_length=200)
    detail: str = Field(default="", max_length=500)
    # Where "Open" goes: a route name and its path parameters (resolved by the views).
    link_route: str = Field(max_length=60)
    link_params: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    read_at: datetime | None = utc_field(nullable=True)
    email_state: str = Field(default="none", max_length=10)
    email_attempts: int = 0
    emailed_at: datetime | None = utc_field(nullable=True)


class AlertPreferences(Timestamped, Versioned, table=True):
    """What one person wants to receive. No row: every rule in the app, and no email."""

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    email: str = Field(default="", max_length=254)
    # Rule code -> "email" (in the app and by email), "app" (in the app only) or "off".
    choices: dict[str, str] = Field(default_factory=dict, sa_type=JSONType)
