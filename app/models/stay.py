"""Stays (hospital provider spells), their location history and EDD history."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, text
from sqlmodel import Field

from app.models.base import Timestamped, UTCDateTime, Versioned, utc_field


class Stay(Timestamped, Versioned, table=True):
    __table_args__ = (
        # A bed holds at most one current stay; a patient has at most one current stay.
        Index(
            "uq_stay_current_bed",
            "bed_id",
            unique=True,
            sqlite_where=text("discharged_at IS NULL"),
            postgresql_where=text("discharged_at IS NULL"),
        ),
        Index(
            "uq_stay_current_patient",
            "patient_id",
            unique=True,
            sqlite_where=text("discharged_at IS NULL"),
            postgresql_where=text("discharged_at IS NULL"),
        ),
        Index("ix_stay_ward_id_discharged_at", "ward_id", "discharged_at"),
        CheckConstraint("discharged_at IS NULL OR discharged_at >= admitted_at", name="discharge_after_admit"),
    )

    id: int = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    ward_id: int = Field(foreign_key="ward.id")
    bed_id: int | None = Field(default=None, foreign_key="bed.id")
    admitted_at: datetime = utc_field()
    discharged_at: datetime | None = utc_field(nullable=True, index=True)
    discharge_destination_code: str | None = Field(default=None, foreign_key="dischargedestination.code")
    pathway: int | None = Field(default=None, foreign_key="pathway.code")
    expected_discharge_date: date | None = None
    clinical_criteria_for_discharge: str = Field(default="", max_length=4000)
    # Start of the current (or, once discharged, final) period without criteria to reside.
    discharge_ready_date: date | None = None
    responsible_consultant: str = Field(default="", max_length=200)
    # PAS spell identifier (HL7 PV1-19) when the stay came from the PAS feed.
    pas_visit_number: str | None = Field(default=None, max_length=40, unique=True)
    # Strengths-based practice: what matters to the person, what they and their carers can do.
    what_matters: str = Field(default="", max_length=2000)
    strengths: str = Field(default="", max_length=2000)
    # Patient choice milestones for a discharge to a care setting.
    choice_information_given_on: date | None = None
    choice_offered_on: date | None = None
    choice_deadline: date | None = None


class StayLocation(Timestamped, table=True):
    """Where a stay was, and when: transfers keep the ward/bed history."""

    # A bed's history: when its last patient left (the board), its occupied time (bed times).
    __table_args__ = (Index("ix_staylocation_bed_id_ended_at", "bed_id", "ended_at"),)

    id: int = Field(default=None, primary_key=True)
    stay_id: int = Field(foreign_key="stay.id", index=True)
    ward_id: int = Field(foreign_key="ward.id", index=True)
    bed_id: int | None = Field(default=None, foreign_key="bed.id")
    started_at: datetime = utc_field()
    ended_at: datetime | None = utc_field(nullable=True)


class EddChange(Timestamped, table=True):
    """Every change of expected discharge date: old, new, why, who, when."""

    id: int = Field(default=None, primary_key=True)
    stay_id: int = Field(foreign_key="stay.id", index=True)
    old_date: date | None = None
    new_date: date
    reason: str = Field(default="", max_length=1000)
    changed_by_id: int = Field(foreign_key="user.id")
    changed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class Referral(Timestamped, Versioned, table=True):
    """A referral made for the discharge to a service (reference list `referralservice`), with
    the moments it moved on: sent, answered (accepted, declined or challenged as inappropriate,
    with a reason), assessed, decided. docs/referrals.md."""

    __table_args__ = (Index("ix_referral_service_code_sent_at", "service_code", "sent_at"),)

    id: int = Field(default=None, primary_key=True)
    stay_id: int = Field(foreign_key="stay.id", index=True)
    service_code: str = Field(foreign_key="referralservice.code", max_length=40)
    # Which team or person within the service, when it matters (free text).
    detail: str = Field(default="", max_length=200)
    sent_at: datetime = utc_field()
    # app.core.codes REFERRAL_*: "" (no answer yet), accepted, declined, challenged
    response: str = Field(default="", max_length=20)
    responded_at: datetime | None = utc_field(nullable=True)
    challenge_reason: str = Field(default="", max_length=1000)
    assessed_at: datetime | None = utc_field(nullable=True)
    decided_at: datetime | None = utc_field(nullable=True)
    decision: str = Field(default="", max_length=1000)
    created_by_id: int = Field(foreign_key="user.id")
