"""Stays: admit, transfer, discharge, EDD and the rules that keep them honest."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, or_, select

from app.audit import service as audit
from app.audit.versions import check_version
from app.core.clock import london_date
from app.core.errors import Conflict, NotFound, RuleViolation
from app.core.principal import Principal
from app.milestones import service as milestones
from app.models import (
    Bed,
    DailyReview,
    DischargeDestination,
    EddChange,
    Pathway,
    Patient,
    Stay,
    StayLocation,
    Ward,
)
from app.stays import ward_history
from app.stays.schemas import StayPublic
from app.wards import bed_states

# Clocks on tablets and the PAS drift a little; beyond this a time "in the future" is an error.
CLOCK_SKEW = timedelta(minutes=5)


def present(stay: Stay) -> dict[str, Any]:
    return StayPublic.model_validate(stay).model_dump(mode="json")


def _not_in_future(moment: datetime, now: datetime, field: str) -> None:
    if moment > now + CLOCK_SKEW:
        raise RuleViolation("Time cannot be in the future", field=field)


def _ensure_current(stay: Stay) -> None:
    if stay.discharged_at is not None:
        raise Conflict(
            "This stay has ended: a discharged stay can only be changed by an audited correction",
            field="stay",
        )


def _check_pathway(session: Session, pathway: int | None) -> None:
    if pathway is not None and session.get(Pathway, pathway) is None:
        raise RuleViolation("Unknown pathway", field="pathway")


# An EDD further ahead than this is a typing slip (a year in the wrong box), not a plan.
EDD_MAX_DAYS_AHEAD = 366


def _check_edd(stay: Stay, edd: date | None, now: datetime | None = None) -> None:
    if edd is not None and edd < london_date(stay.admitted_at):
        raise RuleViolation(
            f"The expected discharge date cannot be before the day of admission "
            f"({london_date(stay.admitted_at):%-d %b %Y})",
            field="expected_discharge_date",
        )
    if edd is not None and now is not None and edd > london_date(now) + timedelta(days=EDD_MAX_DAYS_AHEAD):
        raise RuleViolation(
            "The expected discharge date cannot be more than a year ahead: check the year",
            field="expected_discharge_date",
        )


# Built once: every admission and transfer runs it. A None parameter matches nothing.
_CURRENT_STAYS = select(Stay.id, Stay.patient_id, Stay.bed_id, Stay.ward_id).where(
    col(Stay.discharged_at).is_(None),
    or_(col(Stay.patient_id) == bindparam("patient_id"), col(Stay.bed_id) == bindparam("bed_id")),
)


CurrentStay = tuple[int, int, int | None, int]  # stay id, patient id, bed id, ward id

# An out-of-scope user learns that the patient is in, never where or which stay (no IDOR).
ALREADY_IN_ELSEWHERE = "This patient is already in hospital elsewhere: ask the flow team to transfer them"


def _current_stays(session: Session, *, patient_id: int | None = None, bed_id: int | None = None) -> list[CurrentStay]:
    """(stay id, patient id, bed id, ward id) of the current stays of this patient or in this bed.

    One query answers both admission checks (patient already in, bed taken)."""
    if patient_id is None and bed_id is None:
        return []
    return list(session.exec(_CURRENT_STAYS, params={"patient_id": patient_id, "bed_id": bed_id}))


def _place(
    session: Session,
    actor: Principal,
    ward_id: int,
    bed_id: int | None,
    *,
    moving: Stay | None = None,
    current: list[CurrentStay] | None = None,
) -> tuple[Ward, Bed | None]:
    """Check the ward exists and is in the actor's scope, and the bed is on it, open, and free
    (`current`: the bed's current stays if the caller has already read them)."""
    ward = session.get(Ward, ward_id)
    if ward is None or not ward.is_active or not actor.can_access_ward(ward.id):
        raise RuleViolation("No such ward", field="ward_id")
    if bed_id is None:
        return ward, None
    bed = session.get(Bed, bed_id)
    if bed is None or bed.ward_id != ward_id:
        raise RuleViolation("That bed is not on this ward", field="bed_id")
    if bed.retired_at is not None:
        raise RuleViolation("That bed has been retired", field="bed_id")
    if not bed.is_open:
        raise RuleViolation("That bed is closed", field="bed_id")
    if current is None:
        current = _current_stays(session, bed_id=bed_id)
    occupant = next((stay_id for stay_id, _, in_bed, _ in current if in_bed == bed_id), None)
    if occupant is not None and (moving is None or occupant != moving.id):
        raise Conflict("That bed already has a patient in it", field="bed_id", detail={"stay_id": occupant})
    return ward, bed


def admit(
    session: Session,
    *,
    actor: Principal,
    patient: Patient,
    ward_id: int,
    bed_id: int | None,
    admitted_at: datetime,
    now: datetime,
    expected_discharge_date: date | None = None,
    clinical_criteria_for_discharge: str = "",
    responsible_consultant: str = "",
    pathway: int | None = None,
    pas_visit_number: str | None = None,
) -> Stay:
    _not_in_future(admitted_at, now, "admitted_at")
    _check_pathway(session, pathway)
    current = _current_stays(session, patient_id=patient.id, bed_id=bed_id)
    already_in = next(((stay_id, on_ward) for stay_id, pid, _, on_ward in current if pid == patient.id), None)
    if already_in is not None:
        stay_id, on_ward = already_in
        if not actor.can_access_ward(on_ward):
            raise Conflict(ALREADY_IN_ELSEWHERE, field="patient_id")
        raise Conflict("This patient is already in hospital", field="patient_id", detail={"stay_id": stay_id})
    ward, bed = _place(session, actor, ward_id, bed_id, current=current)
    stay = Stay(
        patient_id=patient.id,
        ward_id=ward.id,
        bed_id=bed.id if bed else None,
        admitted_at=admitted_at,
        pathway=pathway,
        clinical_criteria_for_discharge=clinical_criteria_for_discharge,
        responsible_consultant=responsible_consultant,
        pas_visit_number=pas_visit_number,
        created_at=now,
        updated_at=now,
    )
    _check_edd(stay, expected_discharge_date, now)
    session.add(stay)
    session.flush()
    session.add(
        StayLocation(
            stay_id=stay.id, ward_id=ward.id, bed_id=stay.bed_id, started_at=admitted_at, created_at=now, updated_at=now
        )
    )
    audit.record(
        session,
        actor=actor,
        action="admit",
        entity=stay,
        at=now,
        after=audit.snapshot(stay),
        ward_id=ward.id,
        patient_id=patient.id,
    )
    if bed is not None:
        bed_states.on_arrival(session, actor=actor, bed=bed, at=admitted_at, now=now)
    if expected_discharge_date is not None:
        _apply_edd(session, actor=actor, stay=stay, new_date=expected_discharge_date, reason="", now=now)
    milestones.sync_for_pathway(session, actor=actor, stay=stay, now=now)
    return stay


def transfer(
    session: Session,
    *,
    actor: Principal,
    stay: Stay,
    ward_id: int,
    bed_id: int | None,
    at: datetime,
    expected_version: int,
    now: datetime,
) -> Stay:
    check_version(session, stay, expected_version, lambda: present(stay))
    _ensure_current(stay)
    _not_in_future(at, now, "at")
    if at < stay.admitted_at:
        raise RuleViolation("Transfer cannot be before admission", field="at")
    if ward_id == stay.ward_id and bed_id == stay.bed_id:
        raise RuleViolation("The patient is already in that bed", field="bed_id")
    ward, bed = _place(session, actor, ward_id, bed_id, moving=stay)
    location = session.exec(
        select(StayLocation).where(StayLocation.stay_id == stay.id, col(StayLocation.ended_at).is_(None))
    ).first()
    if location is not None:
        if at < location.started_at:
            raise RuleViolation("Transfer cannot be before the patient arrived in the current bed", field="at")
        location.ended_at = at
        location.updated_at = now
    before = audit.snapshot(stay)
    from_ward = stay.ward_id
    stay.ward_id = ward.id
    stay.bed_id = bed.id if bed else None
    stay.updated_at = now
    session.flush()  # frees the old bed before the new location row refers to the new one
    session.add(
        StayLocation(
            stay_id=stay.id, ward_id=ward.id, bed_id=stay.bed_id, started_at=at, created_at=now, updated_at=now
        )
    )
    old, new = audit.changed(before, audit.snapshot(stay))
    audit.record(
        session,
        actor=actor,
        action="transfer",
        entity=stay,
        at=now,
        before=old,
        after=new | {"at": at.isoformat()},
        ward_id=ward.id,
        patient_id=stay.patient_id,
    )
    if bed is not None:
        bed_states.on_arrival(session, actor=actor, bed=bed, at=at, now=now)
    if from_ward != ward.id:
        # Also visible in the old ward's audit view.
        audit.record(
            session,
            actor=actor,
            action="transfer_out",
            entity=stay,
            at=now,
            before=old,
            after=new,
            ward_id=from_ward,
            patient_id=stay.patient_id,
        )
    return stay


def discharge(
    session: Session,
    *,
    actor: Principal,
    stay: Stay,
    discharged_at: datetime,
    destination_code: str,
    pathway: int | None,
    expected_version: int,
    now: datetime,
) -> Stay:
    check_version(session, stay, expected_version, lambda: present(stay))
    _ensure_current(stay)
    _not_in_future(discharged_at, now, "discharged_at")
    if discharged_at < stay.admitted_at:
        raise RuleViolation("Discharge cannot be before admission", field="discharged_at")
    if session.get(DischargeDestination, destination_code) is None:
        raise RuleViolation("Unknown discharge destination", field="destination_code")
    _check_pathway(session, pathway)
    # Read before changing anything, so the stay and its location are written in one flush at commit.
    history = ward_history.rows(session, stay)
    ward_history.refuse_crossing(
        history, admitted_at=None, discharged_at=discharged_at, advice="cannot be recorded: check both times"
    )
    before = audit.snapshot(stay)
    stay.discharged_at = discharged_at
    stay.discharge_destination_code = destination_code
    if pathway is not None:
        stay.pathway = pathway
    stay.updated_at = now
    if history:
        history[-1].ended_at = discharged_at
        history[-1].updated_at = now
    audit.record_change(
        session,
        actor=actor,
        action="discharge",
        entity=stay,
        before=before,
        at=now,
        ward_id=stay.ward_id,
        patient_id=stay.patient_id,
    )
    return stay


def _apply_edd(session: Session, *, actor: Principal, stay: Stay, new_date: date, reason: str, now: datetime) -> None:
    old_date = stay.expected_discharge_date
    session.add(
        EddChange(
            stay_id=stay.id,
            old_date=old_date,
            new_date=new_date,
            reason=reason,
            changed_by_id=actor.user_id,
            changed_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    stay.expected_discharge_date = new_date
    stay.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="set_edd",
        entity=stay,
        at=now,
        before={"expected_discharge_date": old_date.isoformat() if old_date else None},
        after={"expected_discharge_date": new_date.isoformat(), "reason": reason},
        ward_id=stay.ward_id,
        patient_id=stay.patient_id,
    )


def set_edd(
    session: Session,
    *,
    actor: Principal,
    stay: Stay,
    new_date: date,
    reason: str,
    expected_version: int,
    now: datetime,
) -> Stay:
    """Set or change the EDD. The first needs no reason; every later change does."""
    check_version(session, stay, expected_version, lambda: present(stay))
    _ensure_current(stay)
    _check_edd(stay, new_date, now)
    if stay.expected_discharge_date == new_date:
        return stay  # confirming the same date is not a change
    if stay.expected_discharge_date is not None and not reason:
        raise RuleViolation("Say why the expected discharge date is changing", field="reason")
    _apply_edd(session, actor=actor, stay=stay, new_date=new_date, reason=reason, now=now)
    return stay


def update_stay(
    session: Session,
    *,
    actor: Principal,
    stay: Stay,
    changes: dict[str, Any],
    expected_version: int,
    now: datetime,
) -> Stay:
    check_version(session, stay, expected_version, lambda: present(stay))
    _ensure_current(stay)
    if "pathway" in changes:
        _check_pathway(session, changes["pathway"])
    before = audit.snapshot(stay)
    for key, value in changes.items():
        setattr(stay, key, value)
    stay.updated_at = now
    session.flush()
    audit.record_change(
        session,
        actor=actor,
        action="update",
        entity=stay,
        before=before,
        at=now,
        ward_id=stay.ward_id,
        patient_id=stay.patient_id,
        only_if_changed=True,
    )
    if "pathway" in changes:
        milestones.sync_for_pathway(session, actor=actor, stay=stay, now=now)
    return stay


def correct_discharged_stay(
    session: Session,
    *,
    actor: Principal,
    stay: Stay,
    changes: dict[str, Any],
    reason: str,
    expected_version: int,
    now: datetime,
) -> Stay:
    """The only way to change a discharged stay: a reason, and an audit record of it. A patient
    still in hospital can have only a wrong admission time corrected this way (the rest of a
    current stay changes the usual way).

    A corrected admission or discharge time moves the matching end of the ward history with it
    (the census and NCTR figures read the history), and is refused if it would cross a move."""
    check_version(session, stay, expected_version, lambda: present(stay))
    if stay.discharged_at is None and set(changes) - {"admitted_at"}:
        raise Conflict(
            "This stay is still current: only its admission time can be corrected; change the rest the usual way",
            field="stay",
        )
    for name in ("admitted_at", "discharged_at"):
        if name in changes and changes[name] is None:
            raise RuleViolation("Give the corrected time, or leave this out to keep it", field=name)
    admitted_at = changes.get("admitted_at", stay.admitted_at)
    discharged_at = changes.get("discharged_at", stay.discharged_at)
    _not_in_future(admitted_at, now, "admitted_at")
    if discharged_at is not None:
        _not_in_future(discharged_at, now, "discharged_at")
        if discharged_at < admitted_at:
            raise RuleViolation("Discharge cannot be before admission", field="discharged_at")
    if admitted_at != stay.admitted_at:
        _check_admission_after_records(session, stay, admitted_at)
    history = ward_history.rows(session, stay)
    ward_history.refuse_crossing(
        history,
        admitted_at=admitted_at,
        discharged_at=discharged_at,
        advice="cannot be recorded here; correct the transfer first",
    )
    if "destination_code" in changes:
        if session.get(DischargeDestination, changes["destination_code"]) is None:
            raise RuleViolation("Unknown discharge destination", field="destination_code")
        changes["discharge_destination_code"] = changes.pop("destination_code")
    if "pathway" in changes:
        _check_pathway(session, changes["pathway"])
    before = audit.snapshot(stay)
    for key, value in changes.items():
        setattr(stay, key, value)
    stay.updated_at = now
    moved_from, moved_to = ward_history.move_ends(
        history, admitted_at=admitted_at, discharged_at=discharged_at, now=now
    )
    session.flush()
    old, new = audit.changed(before, audit.snapshot(stay))
    audit.record(
        session,
        actor=actor,
        action="correct",
        entity=stay,
        at=now,
        before=old | moved_from,
        after=new | moved_to | {"reason": reason},
        ward_id=stay.ward_id,
        patient_id=stay.patient_id,
    )
    return stay


def _check_admission_after_records(session: Session, stay: Stay, admitted_at: datetime) -> None:
    """A later admission time must not leave the stay's EDD or its reviews before the new day of
    admission."""
    day = london_date(admitted_at)
    if stay.expected_discharge_date is not None and stay.expected_discharge_date < day:
        raise RuleViolation("The expected discharge date would be before the day of admission", field="admitted_at")
    first_review = session.exec(
        select(DailyReview).where(DailyReview.stay_id == stay.id).order_by(col(DailyReview.review_date)).limit(1)
    ).first()
    if first_review is not None and first_review.review_date < day:
        raise RuleViolation(
            "There is a review from before that day: an admission after it cannot be recorded", field="admitted_at"
        )


def stay_detail_parts(session: Session, stay: Stay) -> tuple[Patient, list[EddChange], list[StayLocation]]:
    patient = session.get(Patient, stay.patient_id)
    if patient is None:  # pragma: no cover - foreign key guarantees it
        raise NotFound("No such patient")
    edds = list(session.exec(select(EddChange).where(EddChange.stay_id == stay.id).order_by(col(EddChange.id))))
    locations = list(
        session.exec(select(StayLocation).where(StayLocation.stay_id == stay.id).order_by(col(StayLocation.id)))
    )
    return patient, edds, locations
