from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from app.core.clock import london_at
from app.core.types import (
    ClockTime,
    Code,
    Id,
    IsoDate,
    LongText,
    PartialUpdate,
    PathwayNumber,
    Reason,
    RequiredReason,
    ShortText,
    StateCode,
    UtcMoment,
    Version,
)
from app.patients.schemas import PatientCreate, PatientPublic

PathwayCode = int  # validated against the pathway table by the service


class AdmitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patient_id: Id | None = None
    patient: PatientCreate | None = None
    ward_id: Id
    bed_id: Id | None = None
    admitted_at: UtcMoment
    expected_discharge_date: IsoDate | None = None
    clinical_criteria_for_discharge: LongText = ""
    responsible_consultant: ShortText = ""
    pathway: PathwayNumber | None = None

    @model_validator(mode="after")
    def _one_patient(self) -> AdmitRequest:
        if (self.patient_id is None) == (self.patient is None):
            raise ValueError("Give either patient_id (a patient you can see) or patient (their identifiers)")
        return self


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ward_id: Id
    bed_id: Id | None = None
    at: UtcMoment | None = None
    version: Version | None = None


class DischargeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    discharged_at: UtcMoment
    destination_code: Code
    pathway: PathwayNumber | None = None
    version: Version | None = None


class EddRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expected_discharge_date: IsoDate
    reason: Reason = ""
    version: Version | None = None


class StayUpdate(PartialUpdate):
    clearable = frozenset({"pathway"})

    clinical_criteria_for_discharge: LongText | None = None
    responsible_consultant: ShortText | None = None
    pathway: PathwayNumber | None = None
    version: Version | None = None


class StayCorrection(BaseModel):
    """Correct a discharged stay (or, for a patient still in hospital, only `admitted_at`): only
    with a reason, always audited. A corrected admission or
    discharge time moves that end of the ward history with it; one that would cross a move
    (admission after the first, discharge before the last) is refused (422)."""

    model_config = ConfigDict(extra="forbid")

    admitted_at: UtcMoment | None = None
    discharged_at: UtcMoment | None = None
    destination_code: Code | None = None
    pathway: PathwayNumber | None = None
    reason: RequiredReason
    version: Version | None = None


class StayPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    ward_id: int
    bed_id: int | None
    admitted_at: datetime
    discharged_at: datetime | None
    discharge_destination_code: str | None
    pathway: int | None
    expected_discharge_date: date | None
    clinical_criteria_for_discharge: str
    discharge_ready_date: date | None
    responsible_consultant: str
    version: int
    updated_at: datetime


class EddChangePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    old_date: date | None
    new_date: date
    reason: str
    changed_by_id: int
    changed_at: datetime


class LocationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ward_id: int
    bed_id: int | None
    started_at: datetime
    ended_at: datetime | None


class StayDetail(BaseModel):
    stay: StayPublic
    patient: PatientPublic
    length_of_stay_midnights: int
    edd_history: list[EddChangePublic]
    locations: list[LocationPublic]


WardListAction = Literal["admit", "move", "update", "unchanged", "discharge", "not_on_list", "refuse"]


class WardListRow(BaseModel):
    """One line of the ward list (or one patient on the ward who is not on it), and what
    applying the list does about it."""

    line: int | None  # in the file (the header is line 1); None: on the ward, not in the file
    bed: str  # as written in the file, or the bed the patient is in
    nhs_number: str | None
    mrn: str
    name: str
    action: WardListAction
    detail: str  # what will happen, or why not
    stay_id: int | None = None


class WardListPreview(BaseModel):
    ward_id: int
    ward_code: str
    pas_feed: bool  # the PAS feed also admits to this ward (docs/adt.md)
    discharge_missing: bool
    rows: list[WardListRow]
    counts: dict[str, int]
    notes: list[str]
    # Send it back to apply exactly this: if the ward or the file has changed since, apply is
    # refused (409) with the new preview.
    plan: str
    applied: bool = False


class ReferralCreate(BaseModel):
    """A referral made for the discharge to a service (GET /reference/referral-services)."""

    model_config = ConfigDict(extra="forbid")

    service_code: Code
    detail: ShortText = ""  # which team or person within the service
    sent_at: UtcMoment


class ReferralUpdate(PartialUpdate):
    """Record how a referral moved on: the answer (accepted, declined, or challenged as
    inappropriate, which needs `challenge_reason`), the assessment, the decision. Each moment is
    no earlier than the referral was sent and not in the future."""

    clearable = frozenset({"responded_at", "assessed_at", "decided_at"})

    response: StateCode | None = None
    responded_at: UtcMoment | None = None
    challenge_reason: Reason | None = None
    assessed_at: UtcMoment | None = None
    decided_at: UtcMoment | None = None
    decision: Reason | None = None
    detail: ShortText | None = None
    version: Version | None = None


class ReferralPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    stay_id: int
    service_code: str
    detail: str
    sent_at: datetime
    response: str
    responded_at: datetime | None
    challenge_reason: str
    assessed_at: datetime | None
    decided_at: datetime | None
    decision: str
    status: str  # sent, accepted, declined, challenged, assessed or decided
    version: int
    updated_at: datetime


class ReferralForm(BaseModel):
    """The patient page's "Add a referral" form: a service, and when it was sent (London time)."""

    model_config = ConfigDict(extra="ignore")

    service_code: Code
    detail: ShortText = ""
    sent_date: IsoDate
    sent_time: ClockTime

    def to_create(self) -> ReferralCreate:
        return ReferralCreate(
            service_code=self.service_code, detail=self.detail, sent_at=london_at(self.sent_date, self.sent_time)
        )


class ReferralStepForm(BaseModel):
    """One step of a referral on the patient page: what happened (`step`), when, and the words
    that go with it (the decision, or the reason for a challenge)."""

    model_config = ConfigDict(extra="ignore")

    step: Literal["accepted", "declined", "challenged", "assessed", "decided"]
    on_date: IsoDate
    at_time: ClockTime
    text: Reason = ""

    def to_update(self) -> ReferralUpdate:
        at = london_at(self.on_date, self.at_time)
        if self.step == "assessed":
            return ReferralUpdate(assessed_at=at)
        if self.step == "decided":
            return ReferralUpdate(decided_at=at, decision=self.text)
        if self.step == "challenged":
            return ReferralUpdate(response=self.step, responded_at=at, challenge_reason=self.text)
        return ReferralUpdate(response=self.step, responded_at=at)


MOMENT_BEFORE_SENT = "This cannot be before the referral was sent"
