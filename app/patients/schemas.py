from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from app.core.clock import london_date, utcnow
from app.core.types import IsoDate, Mrn, Name, PartialUpdate, Version
from app.patients import nhs_number

Sex = Literal["female", "male", "other", "unknown"]


class PatientBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nhs_number: str | None = None
    mrn: Mrn
    given_name: Name
    family_name: Name
    date_of_birth: IsoDate
    sex: Sex

    @field_validator("nhs_number", mode="before")
    @classmethod
    def _nhs_number(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            raise ValueError("NHS number must be a string of 10 digits")
        return nhs_number.normalise(value)

    @field_validator("date_of_birth")
    @classmethod
    def _dob(cls, value: date | None) -> date | None:
        if value is not None and (value.year < 1890 or value > london_date(utcnow())):
            raise ValueError("Date of birth must be a real date in the past")
        return value


class PatientCreate(PatientBase):
    pass


class PatientUpdate(PartialUpdate):
    clearable = frozenset({"nhs_number"})

    nhs_number: str | None = None
    given_name: Name | None = None
    family_name: Name | None = None
    date_of_birth: IsoDate | None = None
    sex: Sex | None = None
    version: Version | None = None

    _nhs = field_validator("nhs_number", mode="before")(PatientBase._nhs_number.__func__)  # type: ignore[attr-defined]
    _dob = field_validator("date_of_birth")(PatientBase._dob.__func__)  # type: ignore[attr-defined]


class PatientSearch(BaseModel):
    """Find a patient by identifier. A request body, never a query string: URLs end up in logs,
    browser history and proxies."""

    model_config = ConfigDict(extra="forbid")

    nhs_number: str | None = None
    mrn: Mrn | None = None

    _nhs = field_validator("nhs_number", mode="before")(PatientBase._nhs_number.__func__)  # type: ignore[attr-defined]


class PatientPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    nhs_number: str | None
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex: str
    version: int
    updated_at: datetime
