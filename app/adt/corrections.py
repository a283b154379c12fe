"""Undoing what the PAS cancels: admission (A11), transfer (A12) and discharge (A13).

Our stay model has no "cancelled" state and a discharged stay is otherwise changed only by a
reasoned correction, so these are small audited services of their own. Each checks the rules
the normal services check (ward active, bed on the ward, open and free, one current stay per
patient) and records before/after in the audit trail in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from app.audit import service as audit
from app.core.errors import Conflict, RuleViolation
from app.core.principal import Principal
from app.models import Bed, DischargeDestination, Stay, StayLocation, Ward
from app.stays import service as stays

CANCELLED_ADMISSION_DESTINATION = DischargeDestination.NOT_APPLICABLE  # the spell never really happened


def _check_place(session: Session, stay: Stay, ward_id: int, bed_id: int | None) -> None:
    ward = session.get(Ward, ward_id)
    if ward is None or not ward.is_active:
        raise RuleViolation("The ward is no longer active", field="ward_id")
    if bed_id is None:
        return
    bed = session.get(Bed, bed_id)
    if bed is None or bed.ward_id != ward_id:
        raise RuleViolation("That bed is not on this ward", field="bed_id")
    if not bed.is_open:
        raise RuleViolation("That bed is closed", field="bed_id")
    occupant = session.exec(
        select(Stay.id).where(Stay.bed_id == bed_id, Stay.discharged_at.is_(None), Stay.id != stay.id)  # type: ignore[union-attr]
    ).first()
    if occupant is not None:
        raise Conflict("That bed has been given to another patient since", field="bed_id")


def _locations(session: Session, stay: Stay) -> list[StayLocation]:
    return list(
        session.exec(
            select(StayLocation)
            .where(StayLocation.stay_id == stay.id)
            .order_by(StayLocation.started_at, StayLocation.id)  # type: ignore[arg-type]
        )
    )


def clinical_records(session: Session, stay: Stay) -> int:
    """How many rows in other tables (reviews, actions, EDD changes...) refer to this stay."""
    total = 0
    for table in SQLModel.metadata.sorted_tables:
        if table.name in ("stay", "staylocation"):
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name == "stay" and fk.column.name == "id":
                total += session.execute(
                    select(func.count()).select_from(table).where(fk.parent == stay.id)
                ).scalar_one()
    return total


def cancel_admission(session: Session, *, actor: Principal, stay: Stay, at: datetime, now: datetime) -> str:
    """A11. Delete the stay if nothing else refers to it; else end it with destination 98.

    Returns "deleted" or "ended".
    """
    if stay.discharged_at is not None:
        raise Conflict("This visit has been discharged: cancel the discharge (A13) before the admission")
    if clinical_records(session, stay) == 0:
        before = audit.snapshot(stay)
        for location in _locations(session, stay):
            session.delete(location)
        session.flush()  # no ORM relationship orders these deletes: children first, by hand
        session.delete(stay)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="cancel_admit",
            entity_type="stay",
            entity_id=before["id"],
            at=now,
            before=before,
            after={"deleted": True, "reason": "cancelled admission (A11)"},
            ward_id=before["ward_id"],
            patient_id=before["patient_id"],
        )
        return "deleted"
    # Reviews, actions or EDDs were recorded against it: keep them, end the stay (not before it
    # arrived where it is, so its ward history still ends where the stay does).
    rows = _locations(session, stay)
    ended_at = max(min(at, now), rows[-1].started_at if rows else stay.admitted_at)
    stays.discharge(
        session,
        actor=actor,
        stay=stay,
        discharged_at=ended_at,
        destination_code=CANCELLED_ADMISSION_DESTINATION,
        pathway=None,
        expected_version=stay.version,
        now=now,
    )
    audit.record(
        session,
        actor=actor,
        action="cancel_admit",
        entity=stay,
        at=now,
        after={"ended": True, "reason": "cancelled admission (A11)", "discharged_at": ended_at.isoformat()},
        ward_id=stay.ward_id,
        patient_id=stay.patient_id,
    )
    return "ended"


def previous_location(session: Session, stay: Stay) -> tuple[StayLocation, StayLocation] | None:
    """(the location before the last move, the current one), or None if it never moved."""
    rows = _locations(session, stay)
    current = [row for row in rows if row.ended_at is None]
    if len(rows) < 2 or len(current) != 1 or rows[-1] is not current[0]:
        return None
    return rows[-2], rows[-1]


def cancel_transfer(session: Session, *, actor: Principal, stay: Stay, now: datetime) -> Stay:
    """A12. Put the stay back where it was before its last move, as if the move never happened."""
    if stay.discharged_at is not None:
        raise Conflict("This visit has been discharged: a transfer cannot be cancelled after discharge")
    pair = previous_location(session, stay)
    if pair is None:
        raise RuleViolation("This visit has no earlier location to return to")
    previous, cancelled = pair
    _check_place(session, stay, previous.ward_id, previous.bed_id)
    before = audit.snapshot(stay)
    from_ward = stay.ward_id
    session.delete(cancelled)
    previous.ended_at = None
    previous.updated_at = now
    stay.ward_id, stay.bed_id = previous.ward_id, previous.bed_id
    stay.updated_at = now
    session.flush()
    for ward_id in dict.fromkeys((stay.ward_id, from_ward)):  # visible in both wards' audit views
        audit.record_change(
            session,
            actor=actor,
            action="cancel_transfer",
            entity=stay,
            before=before,
            at=now,
            ward_id=ward_id,
            patient_id=stay.patient_id,
            extra={"reason": "cancelled transfer (A12)", "cancelled_from": cancelled.started_at.isoformat()},
        )
    return stay


def reopen(session: Session, *, actor: Principal, stay: Stay, now: datetime) -> Stay:
    """A13. Undo a discharge: the stay is current again, in the bed it left if still free."""
    if stay.discharged_at is None:
        return stay
    other = session.exec(
        select(Stay.id).where(
            Stay.patient_id == stay.patient_id,
            Stay.discharged_at.is_(None),  # type: ignore[union-attr]
            Stay.id != stay.id,
        )
    ).first()
    if other is not None:
        raise Conflict("The patient has been admitted again since this discharge")
    _check_place(session, stay, stay.ward_id, stay.bed_id)
    before = audit.snapshot(stay)
    stay.discharged_at = None
    stay.discharge_destination_code = None
    stay.updated_at = now
    rows = _locations(session, stay)
    if rows:
        rows[-1].ended_at = None
        rows[-1].updated_at = now
    session.flush()
    audit.record_change(
        session,
        actor=actor,
        action="cancel_discharge",
        entity=stay,
        before=before,
        at=now,
        ward_id=stay.ward_id,
        patient_id=stay.patient_id,
        extra={"reason": "cancelled discharge (A13)"},
    )
    return stay
