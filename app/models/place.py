"""Where patients are: sites, wards and beds."""

from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from app.models.base import Timestamped, Versioned


class Site(Timestamped, table=True):
    id: int = Field(default=None, primary_key=True)
    code: str = Field(max_length=10, unique=True)  # ODS site code
    name: str = Field(max_length=200)


class Ward(Timestamped, Versioned, table=True):
    id: int = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    code: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=200)
    specialty: str = Field(default="", max_length=100)
    executive_sponsor_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    is_active: bool = True


class Bed(Timestamped, Versioned, table=True):
    __table_args__ = (UniqueConstraint("ward_id", "label"),)

    id: int = Field(default=None, primary_key=True)
    ward_id: int = Field(foreign_key="ward.id", index=True)
    label: str = Field(max_length=20)
    sort_order: int = 0
    is_open: bool = True
    # Temporary escalation (surge) bed, opened under pressure.
    is_escalation: bool = False
