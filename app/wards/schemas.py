from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from app.core.types import BedLabel, Id, Label, PartialUpdate, SortOrder, Specialty, Version, WardCode


class WardCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_id: Id
    code: WardCode
    name: Label
    specialty: Specialty = ""
    executive_sponsor_id: Id | None = None


class WardUpdate(PartialUpdate):
    clearable = frozenset({"executive_sponsor_id"})

    name: Label | None = None
    specialty: Specialty | None = None
    executive_sponsor_id: Id | None = None
    is_active: bool | None = None
    version: Version | None = None


class WardPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    site_id: int
    code: str
    name: str
    specialty: str
    executive_sponsor_id: int | None
    is_active: bool
    version: int


class BedCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: BedLabel
    sort_order: SortOrder = 0
    is_open: bool = True
    is_escalation: bool = False


class BedUpdate(PartialUpdate):
    label: BedLabel | None = None
    sort_order: SortOrder | None = None
    is_open: bool | None = None
    is_escalation: bool | None = None
    version: Version | None = None


class BedPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ward_id: int
    label: str
    sort_order: int
    is_open: bool
    is_escalation: bool
    version: int


class BoardReview(BaseModel):
    meets_criteria_to_reside: bool
    criteria: list[str]
    delay_reason_code: str | None
    day_status: str
    red_day_reason_code: str | None
    reviewed_at: datetime
    version: int


class BoardPatient(BaseModel):
    id: int
    nhs_number: str | None
    mrn: str
    given_name: str
    family_name: str
    initials: str
    age: int
    sex: str


class BoardStay(BaseModel):
    id: int
    version: int
    admitted_at: datetime
    length_of_stay_midnights: int
    long_stay_flag: int | None  # 7, 14 or 21 when at or past that threshold
    expected_discharge_date: date | None
    edd_overdue: bool
    discharge_ready_date: date | None
    pathway: int | None
    responsible_consultant: str
    clinical_criteria_for_discharge: str
    patient: BoardPatient
    review_today: BoardReview | None
    open_actions: int
    open_escalations: int
    failed_discharges_7d: int


class BoardRow(BaseModel):
    bed: BedPublic | None  # None for a patient on the ward without a bed (e.g. outlier, chair)
    stay: BoardStay | None


class BoardCounts(BaseModel):
    beds_open: int
    beds_occupied: int
    patients: int
    reviewed_today: int
    not_meeting_criteria: int
    edd_overdue: int
    long_stay_7: int
    long_stay_14: int
    long_stay_21: int


class Board(BaseModel):
    ward: WardPublic
    today: date
    rows: list[BoardRow]
    counts: BoardCounts
