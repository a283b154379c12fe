"""Reference lists: stable codes with human labels, held as data.

National lists (criteria to reside, delay reasons) are revised every few years, so each
row carries its validity window and source collection instead of living in an enum.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, NamedTuple

from sqlmodel import Field, SQLModel

from app.core import codes


class ReferenceBase(SQLModel):
    label: str = Field(max_length=200)
    sort_order: int = 0
    active: bool = True


class Criterion(ReferenceBase, table=True):
    """Criteria to reside (NHS Data Dictionary CRITERIA TO RESIDE CODE, 01-12)."""

    code: str = Field(primary_key=True, max_length=2)


class DelayReasonFamily(ReferenceBase, table=True):
    """Families of the acute discharge sitrep delay reasons (hospital process, capacity...)."""

    code: str = Field(primary_key=True, max_length=40)


class DelayReason(ReferenceBase, table=True):
    """Why a patient with no criteria to reside is still in hospital (acute sitrep list)."""

    code: str = Field(primary_key=True, max_length=20)
    family_code: str = Field(foreign_key="delayreasonfamily.code", max_length=40)
    valid_from: date | None = None
    valid_to: date | None = None
    source: str = Field(default="", max_length=200)
    # The version of the national list the row belongs to: a review's delay reasons keep it.
    list_version: str = Field(default="2024/25", max_length=20, sa_column_kwargs={"server_default": "2024/25"})


class FailedDischargeReason(ReferenceBase, table=True):
    """Local causes of a failed planned discharge, mapped to a national family."""

    code: str = Field(primary_key=True, max_length=40)
    family_code: str | None = Field(default=None, foreign_key="delayreasonfamily.code")


class RedDayReason(ReferenceBase, table=True):
    """Red2Green: why today added no value for the patient."""

    code: str = Field(primary_key=True, max_length=40)


class Pathway(ReferenceBase, table=True):
    """Discharge to Assess pathways 0-3."""

    code: int = Field(primary_key=True, ge=0, le=3, sa_column_kwargs={"autoincrement": False})
    description: str = Field(default="", max_length=500)


class StaffRole(ReferenceBase, table=True):
    """Roles of staff: who signs in, who attends the round, who owns an action."""

    code: str = Field(primary_key=True, max_length=40)
    # Site-wide roles see every ward; others only the wards they are assigned to.
    site_wide: bool = False
    # Some roles attend rounds and own actions but do not sign in (e.g. pharmacist).
    can_sign_in: bool = True


class DischargeDestination(ReferenceBase, table=True):
    """NHS Data Dictionary discharge destination codes."""

    code: str = Field(primary_key=True, max_length=4)

    # Codes with a meaning of their own in Boardround (app/core/codes.py).
    DIED: ClassVar[str] = codes.DESTINATION_DIED
    NOT_APPLICABLE: ClassVar[str] = codes.DESTINATION_NOT_APPLICABLE


class EscalationLevel(ReferenceBase, table=True):
    """Escalation ladder: ward manager, site flow team, executive sponsor."""

    code: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str = Field(max_length=40, unique=True)
    # Response-time target for this level, editable as data.
    response_target_minutes: int = 240


class BedState(ReferenceBase, table=True):
    """What a bed is doing for the flow team: open, closed, awaiting cleaning, reserved."""

    code: str = Field(primary_key=True, max_length=20)

    OPEN: ClassVar[str] = "open"
    CLOSED: ClassVar[str] = "closed"
    CLEANING: ClassVar[str] = "cleaning"
    RESERVED: ClassVar[str] = "reserved"


class BedClosureReason(ReferenceBase, table=True):
    """Why a bed is closed (infection control, staffing, estates...)."""

    code: str = Field(primary_key=True, max_length=40)


class ReferralService(ReferenceBase, table=True):
    """Services a discharge referral goes to (care transfer hub, reablement, Hospital at Home...)."""

    code: str = Field(primary_key=True, max_length=40)
    # Hours from sending to the service's decision the trust expects (alerts: waiting past target).
    decision_target_hours: int = 48
    # Specialist teams that visit wards at set times say when, as the board shows it
    # ("Mon-Fri 10:00"); empty for services that do not visit.
    visit_times: str = Field(default="", max_length=200)


class MilestoneType(ReferenceBase, table=True):
    """A standard discharge milestone (medicines to take home, transport booked...): which
    pathways it applies to, who owns it and when it falls due. Editable as data."""

    code: str = Field(primary_key=True, max_length=40)
    owner_role_code: str = Field(foreign_key="staffrole.code", max_length=40)
    # The pathways (0-3) it applies to, as digits: "123" for pathways 1 to 3.
    pathways: str = Field(default="", max_length=8)
    # Due at `due_hour` (Europe/London) this many days before the expected discharge date (or,
    # with no EDD, before tomorrow). app/milestones/service.py due_at.
    due_days_before_edd: int = 1
    due_hour: int = Field(default=12, ge=0, le=23)


class ReferenceList(NamedTuple):
    model: type[ReferenceBase]
    path: str  # its name in the API: /api/v1/reference/{path}


# Every reference list, by the name screens read it by (app.reference.rows and labels). The API
# serves each under its path and the demo loads them all; their rows come from the migrations.
REFERENCE_LISTS: dict[str, ReferenceList] = {
    "criteria": ReferenceList(Criterion, "criteria"),
    "delay_reasons": ReferenceList(DelayReason, "delay-reasons"),
    "families": ReferenceList(DelayReasonFamily, "delay-reason-families"),
    "failed_discharge_reasons": ReferenceList(FailedDischargeReason, "failed-discharge-reasons"),
    "red_day_reasons": ReferenceList(RedDayReason, "red-day-reasons"),
    "pathways": ReferenceList(Pathway, "pathways"),
    "roles": ReferenceList(StaffRole, "roles"),
    "destinations": ReferenceList(DischargeDestination, "discharge-destinations"),
    "escalation_levels": ReferenceList(EscalationLevel, "escalation-levels"),
    "referral_services": ReferenceList(ReferralService, "referral-services"),
    "milestone_types": ReferenceList(MilestoneType, "milestone-types"),
    "bed_states": ReferenceList(BedState, "bed-states"),
    "bed_closure_reasons": ReferenceList(BedClosureReason, "bed-closure-reasons"),
}
