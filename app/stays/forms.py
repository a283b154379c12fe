"""The tablet's forms for patients in and out: admit to a bed, move, discharge, correct.

Each turns what a person typed (a London date and a clock time, a choice of ward and bed) into
the values the stay services take, the same as the JSON API's bodies; the services check the
rest (scope, free bed, times, reference codes).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, model_validator

from app.core.clock import london_at, london_wall_clock
from app.core.types import (
    ClockTime,
    FormCode,
    FormDate,
    FormTime,
    IsoDate,
    Mrn,
    Name,
    PathwayNumber,
    RequiredReason,
    ShortText,
    form_id,
)
from app.core.validation import field_error
from app.patients.schemas import DateOfBirth, NhsNumber, PatientCreate, PatientSearch, Sex


def within_the_minute(typed: datetime, now: datetime) -> datetime:
    """A time typed to the minute, in the minute that is passing now, means now: the form shows
    the current minute, and a move recorded seconds ago in the same minute must not look later
    than a discharge typed as "now"."""
    return now if typed <= now < typed + timedelta(minutes=1) else typed


def _blank_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


class FindPatientForm(BaseModel):
    """The admit form's first step: look for a patient the hospital already has."""

    model_config = ConfigDict(extra="ignore")

    nhs_number: NhsNumber = None
    mrn: Mrn | None = None

    @model_validator(mode="before")
    @classmethod
    def _blanks(cls, data: object) -> object:
        if isinstance(data, dict):
            return {k: _blank_none(v) for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _one_of(self) -> FindPatientForm:
        if not self.nhs_number and not self.mrn:
            raise field_error("nhs_number", "Enter the NHS number or the hospital number")
        return self

    def search(self) -> PatientSearch:
        return PatientSearch(nhs_number=self.nhs_number, mrn=self.mrn)


class AdmitForm(BaseModel):
    """Admit the patient these identifiers name (found, or registered if the hospital has never
    seen them) to the bed the form was opened from."""

    model_config = ConfigDict(extra="ignore")

    nhs_number: NhsNumber = None
    mrn: Mrn
    given_name: Name
    family_name: Name
    date_of_birth: DateOfBirth
    sex: Sex
    admitted_date: IsoDate
    admitted_time: ClockTime
    responsible_consultant: ShortText = ""

    def patient(self) -> PatientCreate:
        return PatientCreate(
            nhs_number=self.nhs_number,
            mrn=self.mrn,
            given_name=self.given_name,
            family_name=self.family_name,
            date_of_birth=self.date_of_birth,
            sex=self.sex,
        )

    @property
    def admitted_at(self) -> datetime:
        return london_at(self.admitted_date, self.admitted_time)


class MoveForm(BaseModel):
    """`place` is "ward id-bed id" (or "ward id-" for the ward without a bed); the time is now
    unless a time is given."""

    model_config = ConfigDict(extra="ignore")

    place: ShortText
    moved_date: FormDate = None
    moved_time: FormTime = None

    @model_validator(mode="after")
    def _place(self) -> MoveForm:
        ward, _, bed = self.place.partition("-")
        if form_id(ward) is None or (bed and form_id(bed) is None):
            raise field_error("place", "Choose the bed the patient is moving to")
        if (self.moved_date is None) != (self.moved_time is None):
            raise field_error("moved_time", "Enter both the date and the time of the move, or neither")
        return self

    @property
    def ward_id(self) -> int:
        return form_id(self.place.partition("-")[0]) or 0

    @property
    def bed_id(self) -> int | None:
        return form_id(self.place.partition("-")[2])

    def at(self, now: datetime) -> datetime:
        if self.moved_date is None or self.moved_time is None:
            return now
        return within_the_minute(london_at(self.moved_date, self.moved_time), now)


class DischargeForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    discharged_date: IsoDate
    discharged_time: ClockTime
    destination_code: FormCode = None
    pathway: PathwayNumber | None = None

    @model_validator(mode="before")
    @classmethod
    def _blanks(cls, data: object) -> object:
        if isinstance(data, dict) and not str(data.get("pathway") or "").strip():
            return {**data, "pathway": None}
        return data

    @model_validator(mode="after")
    def _destination(self) -> DischargeForm:
        if not self.destination_code:
            raise field_error("destination_code", "Choose where the patient went (or that they died)")
        return self

    def discharged_at(self, now: datetime) -> datetime:
        return within_the_minute(london_at(self.discharged_date, self.discharged_time), now)


class CorrectionForm(BaseModel):
    """Correct a discharged stay's times, destination or pathway, with a reason."""

    model_config = ConfigDict(extra="ignore")

    admitted_date: IsoDate
    admitted_time: ClockTime
    discharged_date: IsoDate
    discharged_time: ClockTime
    destination_code: FormCode = None
    pathway: PathwayNumber | None = None
    reason: RequiredReason

    @model_validator(mode="before")
    @classmethod
    def _blanks(cls, data: object) -> object:
        if isinstance(data, dict) and not str(data.get("pathway") or "").strip():
            return {**data, "pathway": None}
        return data

    def changes(self, admitted_at: datetime, discharged_at: datetime | None) -> dict[str, object]:
        """What differs from the stay as recorded. A time the form shows to the minute and sent
        back unchanged keeps its seconds: only a time someone changed is corrected."""
        found: dict[str, object] = {}
        typed = london_at(self.admitted_date, self.admitted_time)
        if typed != london_at(*_to_the_minute(admitted_at)):
            found["admitted_at"] = typed
        typed = london_at(self.discharged_date, self.discharged_time)
        if discharged_at is None or typed != london_at(*_to_the_minute(discharged_at)):
            found["discharged_at"] = typed
        if self.destination_code:
            found["destination_code"] = self.destination_code
        if self.pathway is not None:
            found["pathway"] = self.pathway
        return found


class AdmissionCorrectionForm(BaseModel):
    """A patient still in hospital: only the admission time, with a reason."""

    model_config = ConfigDict(extra="ignore")

    admitted_date: IsoDate
    admitted_time: ClockTime
    reason: RequiredReason

    def changes(self, admitted_at: datetime, discharged_at: datetime | None = None) -> dict[str, object]:
        typed = london_at(self.admitted_date, self.admitted_time)
        return {} if typed == london_at(*_to_the_minute(admitted_at)) else {"admitted_at": typed}


def _to_the_minute(moment: datetime) -> tuple[date, time]:
    local = london_wall_clock(moment)
    return local.date(), local.time().replace(second=0, microsecond=0)


def date_and_time(moment: datetime | None) -> tuple[str, str]:
    """A stored moment as the London date and clock time a form shows."""
    if moment is None:
        return "", ""
    local = london_wall_clock(moment)
    return local.date().isoformat(), local.strftime("%H:%M")
