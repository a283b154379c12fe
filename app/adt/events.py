"""What each ADT trigger event does to our patients and stays: one handler per event.

Changes go through the patient and stay services, or app.adt.corrections for the cancel
events; nothing here commits. The rules for out-of-order and cancel events are in docs/adt.md.

Manual admissions and the feed never make two stays for one patient: a visit the PAS names for
the first time (A01, or the A02/A03 of a visit never seen) adopts the patient's current stay that
was admitted by hand (no PAS visit number) instead of admitting them again (docs/adt.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from app.adt import errors as codes
from app.adt import mapping, parser
from app.adt.corrections import cancel_admission, cancel_transfer, previous_location, reopen
from app.adt.errors import Invalid
from app.adt.matching import find_patient, same_patient, stay_of_visit, upsert_patient
from app.adt.parser import Adt, VisitFacts
from app.audit import service as audit
from app.core.principal import Principal
from app.models import Patient, Stay, StayLocation
from app.stays import service as stays

Place = tuple[int, int | None]  # (ward id, bed id or None), from mapping.resolve


@dataclass
class Effect:
    """What a message changed, for its audit event and log line."""

    summary: str
    patient_id: int | None = None
    stay_id: int | None = None
    ward_id: int | None = None


def _visit(adt: Adt) -> VisitFacts:
    if adt.visit is None or not adt.visit.visit_number:
        raise Invalid("PV1-19 visit number is missing", code=codes.REQUIRED_FIELD_MISSING, location="PV1-19")
    return adt.visit


def _place(session: Session, visit: VisitFacts, *, required: bool) -> Place | None:
    if visit.location is None:
        if required:
            raise Invalid("PV1-3 assigned location is missing", code=codes.REQUIRED_FIELD_MISSING, location="PV1-3")
        return None
    return mapping.resolve(session, visit.location)


def _at(place: Place, where: Stay | StayLocation) -> bool:
    """Whether the PAS place is this location. A PAS location without a bed names any bed on
    the ward (beds are often kept only in Boardround)."""
    return place[0] == where.ward_id and place[1] in (None, where.bed_id)


def _move(session: Session, stay: Stay, place: Place, *, at: datetime, actor: Principal, now: datetime) -> bool:
    """Transfer to the PAS location unless already there; True if moved."""
    if _at(place, stay):
        return False
    ward_id, bed_id = place
    stays.transfer(
        session,
        actor=actor,
        stay=stay,
        ward_id=ward_id,
        bed_id=bed_id,
        at=min(at, now),
        expected_version=stay.version,
        now=now,
    )
    return True


def _consultant(session: Session, stay: Stay, visit: VisitFacts, *, actor: Principal, now: datetime) -> bool:
    if not visit.consultant or visit.consultant == stay.responsible_consultant:
        return False
    stays.update_stay(
        session,
        actor=actor,
        stay=stay,
        changes={"responsible_consultant": visit.consultant},
        expected_version=stay.version,
        now=now,
    )
    return True


def _admit(
    session: Session,
    patient: Patient,
    visit: VisitFacts,
    place: Place,
    *,
    admitted_at: datetime,
    actor: Principal,
    now: datetime,
) -> Stay:
    return stays.admit(
        session,
        actor=actor,
        patient=patient,
        ward_id=place[0],
        bed_id=place[1],
        admitted_at=admitted_at,
        now=now,
        responsible_consultant=visit.consultant or "",
        pas_visit_number=visit.visit_number,
    )


def _manual_stay(session: Session, patient: Patient) -> Stay | None:
    """The patient's current stay if it was admitted by hand (it has no PAS visit number)."""
    return session.exec(
        select(Stay).where(
            Stay.patient_id == patient.id,
            col(Stay.discharged_at).is_(None),
            col(Stay.pas_visit_number).is_(None),
        )
    ).first()


def _adopt(session: Session, stay: Stay, visit: VisitFacts, *, actor: Principal, now: datetime) -> None:
    """The PAS visit takes over a stay admitted by hand: it keeps its id, history, reviews and
    admission time (the PAS's is in the audit event, to correct by hand if they differ)."""
    stay.pas_visit_number = visit.visit_number
    stay.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="adopt_manual_stay",
        entity=stay,
        at=now,
        before={"pas_visit_number": None},
        after={
            "pas_visit_number": visit.visit_number,
            "pas_admitted_at": visit.admitted_at.isoformat() if visit.admitted_at else None,
        },
        ward_id=stay.ward_id,
        patient_id=stay.patient_id,
    )


def _late_admit(session: Session, adt: Adt, visit: VisitFacts, *, actor: Principal, now: datetime) -> tuple[Stay, bool]:
    """A02/A03 for a visit we never saw: the patient's stay admitted by hand, adopted (True), or a
    stay created from the full PID and PV1, if they carry enough (a mapped PV1-3 and the PV1-44
    admit time); otherwise AE."""
    patient_facts = adt.patient
    if patient_facts is not None and patient_facts.identified:
        known = find_patient(session, patient_facts)
        manual = _manual_stay(session, known) if known is not None else None
        if manual is not None:
            upsert_patient(session, patient_facts, actor=actor, now=now, update=True)
            _adopt(session, manual, visit, actor=actor, now=now)
            return manual, True
    if visit.location is None or visit.admitted_at is None:
        missing = "PV1-3 assigned location" if visit.location is None else "PV1-44 admit time"
        raise Invalid(
            f"PV1-19 visit number is not known here, and {missing} is missing to create the stay",
            code=codes.UNKNOWN_KEY,
            location="PV1-19",
        )
    place = mapping.resolve(session, visit.location)
    patient = upsert_patient(session, adt.patient, actor=actor, now=now, update=True)
    return _admit(session, patient, visit, place, admitted_at=visit.admitted_at, actor=actor, now=now), False


def _effect(
    summary: str, stay: Stay | None = None, patient: Patient | None = None, ward_id: int | None = None
) -> Effect:
    return Effect(
        summary=summary,
        patient_id=stay.patient_id if stay is not None else (patient.id if patient is not None else None),
        stay_id=stay.id if stay is not None else None,
        ward_id=ward_id if ward_id is not None else (stay.ward_id if stay is not None else None),
    )


def apply(session: Session, adt: Adt, *, actor: Principal, now: datetime) -> Effect:
    """Apply one message's event. Raises Invalid (AE) or a domain error; never commits."""
    handler = _HANDLERS[adt.header.event]
    return handler(session, adt, actor=actor, now=now)


def _a01_admit(session: Session, adt: Adt, *, actor: Principal, now: datetime) -> Effect:
    visit = _visit(adt)
    place = _place(session, visit, required=True)
    assert place is not None
    # The visit first: reading it before registering a new patient saves a flush.
    stay = stay_of_visit(session, visit.visit_number)
    patient = upsert_patient(session, adt.patient, actor=actor, now=now, update=True)
    if stay is not None:
        if stay.patient_id != patient.id:
            raise Invalid(
                "PV1-19 visit number belongs to a different patient from the one in PID-3",
                code=codes.DUPLICATE_KEY,
                location="PV1-19",
            )
        if stay.discharged_at is not None:
            if visit.admitted_at is not None and visit.admitted_at <= stay.discharged_at:
                return _effect("late A01 for a discharged visit: no change", stay)
            raise Invalid(
                "This visit has been discharged: send A13 to cancel the discharge before admitting it again",
                code=codes.INTERNAL_ERROR,
            )
        moved = _move(session, stay, place, at=adt.event_at or now, actor=actor, now=now)
        _consultant(session, stay, visit, actor=actor, now=now)
        return _effect("already admitted" + (": moved to the PAS location" if moved else ": no change"), stay)
    manual = _manual_stay(session, patient)
    if manual is not None:
        _adopt(session, manual, visit, actor=actor, now=now)
        moved = _move(session, manual, place, at=adt.event_at or now, actor=actor, now=now)
        _consultant(session, manual, visit, actor=actor, now=now)
        return _effect("manual admission adopted" + (": moved to the PAS location" if moved else ""), manual)
    admitted_at = visit.admitted_at or adt.event_at or now
    stay = _admit(session, patient, visit, place, admitted_at=admitted_at, actor=actor, now=now)
    return _effect("admitted", stay)


def _a02_transfer(session: Session, adt: Adt, *, actor: Principal, now: datetime) -> Effect:
    visit = _visit(adt)
    place = _place(session, visit, required=True)
    assert place is not None
    stay = stay_of_visit(session, visit.visit_number)
    if stay is None:
        stay, adopted = _late_admit(session, adt, visit, actor=actor, now=now)
        if not adopted:
            return _effect("admitted at the new location (visit first seen on A02)", stay)
        moved = _move(session, stay, place, at=adt.event_at or now, actor=actor, now=now)
        _consultant(session, stay, visit, actor=actor, now=now)
        return _effect("manual admission adopted (visit first seen on A02)" + (": transferred" if moved else ""), stay)
    same_patient(session, stay, adt.patient)
    if stay.discharged_at is not None:
        if (adt.event_at or now) <= stay.discharged_at:
            return _effect("late A02 for a discharged visit: ignored", stay)
        raise Invalid(
            "This visit has been discharged: a transfer after the discharge time was not applied",
            code=codes.INTERNAL_ERROR,
        )
    moved = _move(session, stay, place, at=adt.event_at or now, actor=actor, now=now)
    _consultant(session, stay, visit, actor=actor, now=now)
    return _effect("transferred" if moved else "already at that location: no change", stay)


def _a03_discharge(session: Session, adt: Adt, *, actor: Principal, now: datetime) -> Effect:
    visit = _visit(adt)
    stay = stay_of_visit(session, visit.visit_number)
    created = adopted = False
    if stay is None:
        stay, adopted = _late_admit(session, adt, visit, actor=actor, now=now)
        created = not adopted
    else:
        same_patient(session, stay, adt.patient)
    if stay.discharged_at is not None:
        return _effect("already discharged: no change", stay)
    discharged_at = visit.discharged_at or adt.event_at or now
    stays.discharge(
        session,
        actor=actor,
        stay=stay,
        discharged_at=discharged_at,
        destination_code=mapping.destination(session, visit),
        pathway=None,
        expected_version=stay.version,
        now=now,
    )
    if adopted:
        return _effect("manual admission adopted and discharged (visit first seen on A03)", stay)
    return _effect("admitted and discharged (visit first seen on A03)" if created else "discharged", stay)


def _a04_register(session: Session, adt: Adt, *, actor: Principal, now: datetime) -> Effect:
    known = adt.patient is not None and adt.patient.identified and find_patient(session, adt.patient) is not None
    patient = upsert_patient(session, adt.patient, actor=actor, now=now, update=True)
    return _effect("patient details updated" if known else "patient registered", patient=patient)


def _a08_update(session: Session, adt: Adt, *, actor: Principal, now: datetime) -> Effect:
    patient = upsert_patient(session, adt.patient, actor=actor, now=now, update=True)
    visit = adt.visit
    if visit is None or not visit.visit_number:
        return _effect("patient details updated", patient=patient)
    stay = stay_of_visit(session, visit.visit_number)
    if stay is None:
        return _effect("patient details updated (visit not known here: no stay created)", patient=patient)
    if stay.patient_id != patient.id:
        raise Invalid(
            "PV1-19 visit number belongs to a different patient from the one in PID-3",
            code=codes.UNKNOWN_KEY,
            location="PV1-19",
        )
    if stay.discharged_at is not None:
        return _effect("patient details updated (visit discharged: location ignored)", stay)
    place = _place(session, visit, required=False)
    moved = place is not None and _move(session, stay, place, at=adt.event_at or now, actor=actor, now=now)
    consultant = _consultant(session, stay, visit, actor=actor, now=now)
    parts = ["patient details updated"] + (["moved"] if moved else []) + (["consultant changed"] if consultant else [])
    return _effect(", ".join(parts), stay)


def _a11_cancel_admit(session: Session, adt: Adt, *, actor: Principal, now: datetime) -> Effect:
    visit = _visit(adt)
    stay = stay_of_visit(session, visit.visit_number)
    if stay is None:
        return _effect("visit not known here: nothing to cancel")
    same_patient(session, stay, adt.patient)
    ward_id, patient_id = stay.ward_id, stay.patient_id
    outcome = cancel_admission(session, actor=actor, stay=stay, at=adt.event_at or now, now=now)
    if outcome == "deleted":
        return Effect("admission cancelled: stay removed", patient_id=patient_id, ward_id=ward_id)
    return _effect("admission cancelled: stay ended (destination 98) to keep its clinical records", stay)


def _a12_cancel_transfer(session: Session, adt: Adt, *, actor: Principal, now: datetime) -> Effect:
    visit = _visit(adt)
    stay = stay_of_visit(session, visit.visit_number)
    if stay is None:
        raise Invalid(
            "PV1-19 visit number is not known here: no transfer to cancel", code=codes.UNKNOWN_KEY, location="PV1-19"
        )
    same_patient(session, stay, adt.patient)
    if stay.discharged_at is not None:
        raise Invalid(
            "This visit has been discharged: a transfer cannot be cancelled after discharge", code=codes.INTERNAL_ERROR
        )
    place = _place(session, visit, required=False)
    pair = previous_location(session, stay)
    if place is not None:
        # PV1-3 of an A12 is where the patient goes back to: it must be the previous location.
        previous = pair[0] if pair is not None else None
        back = previous is not None and _at(place, previous)
        if not back:
            if _at(place, stay):
                return _effect("already back at that location: no change", stay)
            raise Invalid(
                "PV1-3 location is not where the patient was before the last transfer: not applied",
                code=codes.INTERNAL_ERROR,
                location="PV1-3",
            )
    if pair is None:
        raise Invalid(
            "This visit has no earlier location to return to: no transfer to cancel", code=codes.INTERNAL_ERROR
        )
    cancel_transfer(session, actor=actor, stay=stay, now=now)
    return _effect("transfer cancelled: back at the previous location", stay)


def _a13_cancel_discharge(session: Session, adt: Adt, *, actor: Principal, now: datetime) -> Effect:
    visit = _visit(adt)
    stay = stay_of_visit(session, visit.visit_number)
    if stay is None:
        raise Invalid(
            "PV1-19 visit number is not known here: no discharge to cancel", code=codes.UNKNOWN_KEY, location="PV1-19"
        )
    same_patient(session, stay, adt.patient)
    if stay.discharged_at is None:
        return _effect("visit not discharged: no change", stay)
    reopen(session, actor=actor, stay=stay, now=now)
    return _effect("discharge cancelled: stay current again", stay)


_HANDLERS: dict[str, Callable[..., Effect]] = {
    "A01": _a01_admit,
    "A02": _a02_transfer,
    "A03": _a03_discharge,
    "A04": _a04_register,
    "A08": _a08_update,
    "A11": _a11_cancel_admit,
    "A12": _a12_cancel_transfer,
    "A13": _a13_cancel_discharge,
}
assert set(_HANDLERS) == parser.SUPPORTED_EVENTS
