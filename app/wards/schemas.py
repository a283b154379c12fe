from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from app.core.types import (
    BedLabel,
    Code,
    Id,
    Label,
    Note,
    PartialUpdate,
    ShortText,
    SiteCode,
    SortOrder,
    Specialty,
    StateCode,
    Version,
    WardCode,
)


class SiteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: SiteCode
    name: Label


class SiteUpdate(PartialUpdate):
    name: Label | None = None
    version: Version | None = None


class SitePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    version: int


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
    """Relabel, reorder, open or close (`is_open`; a closure recorded this way has the reason
    "other": PUT /beds/{id}/state records one), change its kind, or retire it (`retired`: true;
    refused while a patient is in it) and bring it back (`retired`: false). Ids never change, so
    the bed's history stays with it."""

    label: BedLabel | None = None
    sort_order: SortOrder | None = None
    is_open: bool | None = None
    is_escalation: bool | None = None
    retired: bool | None = None
    version: Version | None = None


class BedPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ward_id: int
    label: str
    sort_order: int
    is_open: bool
    is_escalation: bool
    state_code: str
    retired_at: datetime | None
    version: int


class BedStateChange(BaseModel):
    """Set a bed's state: `open`; `closed` with a `closure_reason_code`; `cleaning` (awaiting
    cleaning); `reserved` for an expected admission (`reserved_for` who, `reserved_from` where)."""

    model_config = ConfigDict(extra="forbid")

    state_code: StateCode
    closure_reason_code: Code | None = None
    note: Note = ""
    reserved_for: ShortText = ""
    reserved_from: ShortText = ""
    version: Version | None = None


class BedStatePublic(BaseModel):
    """The bed's current state: since when, and its details."""

    model_config = ConfigDict(from_attributes=True)

    state_code: str
    started_at: datetime
    closure_reason_code: str | None
    note: str
    reserved_for: str
    reserved_from: str


class BedWithState(BaseModel):
    bed: BedPublic
    state: BedStatePublic | None


class BedTimes(BaseModel):
    """Minutes a bed spent in each condition within the period asked for."""

    bed_id: int
    label: str
    occupied_minutes: int
    empty_minutes: int  # open, with nobody in it (reserved and cleaning time not included)
    cleaning_minutes: int
    reserved_minutes: int
    closed_minutes: int


class WardBedTimes(BaseModel):
    ward_id: int
    date_from: date
    date_to: date
    beds: list[BedTimes]


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
    # Admitted by hand on a ward the PAS feeds: the PAS admission (A01) will adopt this stay.
    awaiting_pas: bool = False
    # When the stay or today's review last changed (boards show "changed 5 min ago").
    changed_at: datetime | None = None


class BoardRow(BaseModel):
    bed: BedPublic | None  # None for a patient on the ward without a bed (e.g. outlier, chair)
    stay: BoardStay | None
    bed_state: BedStatePublic | None = None  # the bed's state, since when, reason or reservation
    # An empty bed: when its last patient left (None if none ever has).
    empty_since: datetime | None = None


class BoardCounts(BaseModel):
    beds_open: int
    beds_occupied: int
    beds_available: int = 0  # open, empty, not reserved and not awaiting cleaning
    beds_cleaning: int = 0
    beds_reserved: int = 0
    beds_closed: int = 0
    patients: int
    reviewed_today: int
    not_meeting_criteria: int
    edd_overdue: int
    long_stay_7: int
    long_stay_14: int
    long_stay_21: int


class Board(BaseModel):
    ward: WardPublic
    pas_feed: bool = False  # the PAS feed is mapped to this ward (docs/adt.md)
    today: date
    rows: list[BoardRow]
    counts: BoardCounts


class WardBeds(BaseModel):
    """A ward's beds now, for the flow team (retired beds left out)."""

    ward_id: int
    ward_code: str
    ward_name: str
    beds: int
    occupied: int
    available: int  # open, empty, not reserved and not awaiting cleaning: a patient can come now
    cleaning: int  # empty and awaiting cleaning
    reserved: int  # reserved for an expected admission (empty or not)
    closed: int
    # Patients whose expected discharge date is today and whose latest review found no criteria
    # to reside: the beds expected to free today.
    expected_to_free_today: int


class BedAvailability(BaseModel):
    today: date
    wards: list[WardBeds]
    total: WardBeds
