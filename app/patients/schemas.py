from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from app.core.clock import london_date, utcnow
from app.core.types import IsoDate, Mrn, Name, PartialUpdate, Version
from app.patients import nhs_number

Sex = Literal["female", "male", "other", "unknown"]


def _nhs_number(value: object) -> object:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError("NHS number must be a string of 10 digits")
    return nhs_number.normalise(value)


def _born_in_the_past(value: date) -> date:
    if value.year < 1890 or value > london_date(utcnow()):
        raise ValueError("Date of birth must be a real date in the past")
    return value


# Shared by the create, update and search schemas.
NhsNumber = Annotated[str | None, BeforeValidator(_nhs_number)]
DateOfBirth = Annotated[IsoDate, AfterValidator(_born_in_the_past)]


class PatientBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nhs_number: NhsNumber = None
    mrn: Mrn
    given_name: Name
    family_name: Name
    date_of_birth: DateOfBirth
    sex: Sex


class PatientCreate(PatientBase):
    pass


class PatientUpdate(PartialUpdate):
    clearable = frozenset({"nhs_number"})

    nhs_number: NhsNumber = None
    given_name: Name | None = None
    family_name: Name | None = None
    date_of_birth: DateOfBirth | None = None
    sex: Sex | None = None
    version: Version | None = None


class PatientSearch(BaseModel):
    """Find a patient by identifier. A request body, never a query string: URLs end up in logs,
    browser history and proxies."""

    model_config = ConfigDict(extra="forbid")

    nhs_number: NhsNumber = None
    mrn: Mrn | None = None


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
