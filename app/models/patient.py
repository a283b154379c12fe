"""People: demographics from the PAS."""

from __future__ import annotations

from datetime import date

from sqlmodel import Field

from app.models.base import Timestamped, Versioned


class Patient(Timestamped, Versioned, table=True):
    id: int = Field(default=None, primary_key=True)
    # Digits only; optional because emergency care may start before the number is known.
    nhs_number: str | None = Field(default=None, max_length=10, unique=True)
    # Local hospital number (MRN / PAS number), always present.
    mrn: str = Field(max_length=20, unique=True)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    date_of_birth: date
    sex: str = Field(max_length=10)  # female / male / other / unknown
