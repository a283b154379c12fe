"""Apply HL7 ADT messages from the PAS to patients, stays and beds.

`handle` is the one entry point for every channel (MLLP, HTTP, file import). Per message:

- parse the envelope and claim its control ID (a row in `adtmessage`): a control ID seen
  before stops there, changes nothing and gets its first answer again;
- apply the event through the patient and stay services (validated and audited, actor = the
  integration account), audit the message itself, and commit: one transaction;
- on any problem roll everything back and store the message as `rejected` (AR) or `error`
  (AE) with its raw text for review.

The session passed in must carry no unsaved work of its own: it is committed and rolled back.

Logs carry control IDs, event types and outcomes only: never identifiers or message text.
The rules for out-of-order and cancel events are in docs/adt.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, bindparam, insert, or_
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, select

from app.adt import errors as codes
from app.adt import mapping, parser
from app.adt.ack import Ack, build
from app.adt.corrections import cancel_admission, cancel_transfer, previous_location, reopen
from app.adt.errors import AdtProblem, Invalid
from app.adt.parser import Adt, Envelope, PatientFacts, VisitFacts
from app.audit import service as audit
from app.auth.deps import principal_for
from app.core.clock import get_clock
from app.core.errors import Conflict, DomainError, NotFound
from app.core.principal import Principal
from app.db import commit
from app.models import AdtMessage, Patient, Stay, User
from app.patients import service as patients
from app.patients.schemas import PatientCreate
from app.stays import service as stays

log = logging.getLogger("boardround.adt")

ATTEMPTS = 4  # a message that races another writer is retried from the start this often
INTEGRATION_ROLE = "integration"


class Unavailable(Exception):
    """The database could not even record the outcome: send no ACK, let the sender retry."""


class _Retry(Exception):
    """A concurrent writer got there first: roll back and run the whole message again."""


@dataclass
class Effect:
    summary: str
    patient_id: int | None = None
    stay_id: int | None = None
    ward_id: int | None = None


# -- entry point ------------------------------------------------------------------------


def handle(session: Session, raw: bytes | str, *, actor: Principal, now: datetime, channel: str) -> Ack:
    """Process one message in its own transaction(s) on `session`; return the ACK to send."""
    envelope = parser.read_envelope(raw)
    raw_text = parser.decode(raw).replace("\x00", "")
    try:
        for attempt in range(ATTEMPTS):
            try:
                last = attempt == ATTEMPTS - 1
                return _handle_once(session, envelope, raw_text, actor=actor, now=now, channel=channel, last=last)
            except _Retry:
                session.rollback()
                mapping.unpin(session)
                log.info(
                    "adt %s %s: clashed with a concurrent change, retrying",
                    envelope.header.control_id,
                    envelope.header.event,
                )
                time.sleep(0.005 * (attempt + 1))
    finally:
        mapping.unpin(session)
    log.warning(
        "adt %s %s: still clashing after %d attempts", envelope.header.control_id, envelope.header.event, ATTEMPTS
    )
    # Not stored: the same control ID sent again will be processed afresh.
    return build(
        envelope,
        code="AE",
        text="Records for this message were changing at the same moment: send it again",
        error_code=codes.RECORD_LOCKED,
        now=now,
    )


def _replay(session: Session, envelope: Envelope, now: datetime) -> Ack | None:
    """The first answer again, if this control ID was seen before."""
    header = envelope.header
    previous = session.exec(select(AdtMessage).where(AdtMessage.control_id == header.control_id)).first()
    if previous is None:
        return None
    session.rollback()
    log.info("adt %s %s: duplicate control ID, answered %s again", header.control_id, header.event, previous.ack_code)
    return build(
        envelope,
        code=previous.ack_code,
        text=previous.error_text,
        error_code=previous.error_code,
        location=previous.error_location or None,
        now=now,
    )


def _handle_once(
    session: Session, envelope: Envelope, raw_text: str, *, actor: Principal, now: datetime, channel: str, last: bool
) -> Ack:
    header = envelope.header
    if envelope.problem is not None:
        replay = _replay(session, envelope, now) if header.control_id else None
        return replay or _fail(session, envelope, raw_text, envelope.problem, now=now, channel=channel)
    # Claim the control ID first: a duplicate stops at this insert, before anything is applied
    # (and a new message needs no lookup beforehand). A plain INSERT, not an ORM flush: it runs
    # for every message and nothing else in the transaction needs the row as an object.
    messages = AdtMessage.__table__  # type: ignore[attr-defined]
    claim = (
        insert(messages)
        .values(
            control_id=header.control_id,
            received_at=now,
            channel=channel,
            event=header.event,
            hl7_version=header.version,
            sending_application=header.sending_application,
            status="applied",
            ack_code="AA",
        )
        .returning(messages.c.id)
    )
    try:
        message_id = session.execute(claim).scalar_one()
    except IntegrityError as exc:
        session.rollback()
        replay = _replay(session, envelope, now)
        if replay is not None:
            return replay
        raise _Retry from exc
    except OperationalError as exc:
        session.rollback()
        if _is_transient(exc):
            raise _Retry from exc
        raise Unavailable(type(exc).__name__) from exc
    try:
        adt = parser.read_adt(envelope)
        effect = apply(session, adt, actor=actor, now=now)
        audit.record(
            session,
            actor=actor,
            action=f"hl7_{header.event.lower()}",
            entity_type="adtmessage",
            entity_id=message_id,
            at=now,
            after={
                "control_id": header.control_id,
                "event": header.event,
                "effect": effect.summary,
                "stay_id": effect.stay_id,
            },
            ward_id=effect.ward_id,
            patient_id=effect.patient_id,
        )
        _commit(session)
    except _Retry:
        raise
    except AdtProblem as problem:
        session.rollback()
        return _fail(session, envelope, raw_text, problem, now=now, channel=channel)
    except DomainError as exc:
        session.rollback()
        code = codes.UNKNOWN_KEY if isinstance(exc, NotFound) else codes.INTERNAL_ERROR
        return _fail(session, envelope, raw_text, Invalid(exc.message, code=code), now=now, channel=channel)
    except (IntegrityError, StaleDataError) as exc:
        # Checked rules passed but the database refused: usually someone else wrote the same
        # rows (retry); if it persists, keep the message for review.
        if not last:
            raise _Retry from exc
        session.rollback()
        log.error("adt %s %s: database refused the change (%s)", header.control_id, header.event, type(exc).__name__)
        problem = Invalid("The database refused the change: the message is kept for review", code=codes.INTERNAL_ERROR)
        return _fail(session, envelope, raw_text, problem, now=now, channel=channel)
    except OperationalError as exc:
        if _is_transient(exc):
            raise _Retry from exc
        session.rollback()
        raise Unavailable(type(exc).__name__) from exc
    except Exception as exc:  # noqa: BLE001 - a bug must not stop the feed: keep the message for review
        session.rollback()
        log.error("adt %s %s: internal error %s", header.control_id, header.event, type(exc).__name__)
        problem = Invalid("Internal error while applying the message: it is kept for review", code=codes.INTERNAL_ERROR)
        return _fail(session, envelope, raw_text, problem, now=now, channel=channel)
    log.info("adt %s %s applied: %s", header.control_id, header.event, effect.summary)
    return build(envelope, code="AA", now=now)


def _is_transient(exc: OperationalError) -> bool:
    if exc.connection_invalidated:
        return True  # the connection had dropped (database restarted, say): the retry takes a new one
    text = str(exc.orig).lower() if exc.orig is not None else ""
    return any(word in text for word in ("locked", "busy", "deadlock", "could not serialize"))


def _commit(session: Session) -> None:
    try:
        commit(session)
    except Conflict as exc:  # includes StaleVersion: app.db.commit turns races into these
        raise _Retry from exc
    except OperationalError as exc:
        session.rollback()
        if _is_transient(exc):
            raise _Retry from exc
        raise Unavailable(type(exc).__name__) from exc


def _fail(
    session: Session, envelope: Envelope, raw_text: str, problem: AdtProblem, *, now: datetime, channel: str
) -> Ack:
    header = envelope.header
    session.add(
        AdtMessage(
            control_id=header.control_id or None,
            received_at=now,
            channel=channel,
            event=header.event,
            hl7_version=header.version,
            sending_application=header.sending_application,
            status=problem.status,
            ack_code=problem.ack_code,
            error_text=problem.text[:1000],
            error_code=problem.code,
            error_location=(problem.location or "")[:20],
            raw=raw_text,
        )
    )
    try:
        _commit(session)
    except DBAPIError as exc:
        session.rollback()
        raise Unavailable(type(exc).__name__) from exc
    log.warning(
        "adt %s %s %s: %s", header.control_id or "(no control ID)", header.event, problem.ack_code, problem.text
    )
    return build(
        envelope, code=problem.ack_code, text=problem.text, error_code=problem.code, location=problem.location, now=now
    )


# -- patients -------------------------------------------------------------------------------

_FIELD_OF = {
    "nhs_number": "PID-3",
    "mrn": "PID-3",
    "family_name": "PID-5",
    "given_name": "PID-5",
    "date_of_birth": "PID-7",
    "sex": "PID-8",
}
_LABEL_OF = {
    "nhs_number": "NHS number",
    "mrn": "hospital number",
    "family_name": "family name",
    "given_name": "given name",
    "date_of_birth": "date of birth",
    "sex": "sex",
}


def _validated(data: dict[str, Any]) -> PatientCreate:
    """Our patient rules on PAS data; the error names the field, never echoes the value."""
    try:
        return PatientCreate(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first.get("loc") else ""
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        where = _FIELD_OF.get(name, "PID")
        raise Invalid(
            f"{where} {_LABEL_OF.get(name, name)}: {message}", code=codes.DATA_TYPE_ERROR, location=where
        ) from None


# Built once (every admission runs it). A None parameter matches nothing.
_PATIENTS_BY_ID = select(Patient).where(
    or_(Patient.nhs_number == bindparam("nhs"), Patient.mrn == bindparam("mrn"))  # type: ignore[arg-type]
)


def find_patient(session: Session, facts: PatientFacts) -> Patient | None:
    """The patient these identifiers name, refusing identifiers that point at two people."""
    if not (facts.nhs_number or facts.mrn):
        return None
    found = session.exec(_PATIENTS_BY_ID, params={"nhs": facts.nhs_number or None, "mrn": facts.mrn or None}).all()
    by_nhs = next((p for p in found if facts.nhs_number and p.nhs_number == facts.nhs_number), None)
    by_mrn = next((p for p in found if facts.mrn and p.mrn == facts.mrn), None)
    if by_nhs is not None and by_mrn is not None and by_nhs.id != by_mrn.id:
        raise Invalid(
            "PID-3 NHS number and hospital number belong to two different patients here: they need merging",
            code=codes.DUPLICATE_KEY,
            location="PID-3",
        )
    patient = by_nhs or by_mrn
    if patient is not None and facts.mrn and patient.mrn != facts.mrn:
        raise Invalid(
            "PID-3 hospital number differs from the one held for this NHS number",
            code=codes.UNKNOWN_KEY,
            location="PID-3",
        )
    if patient is not None and facts.nhs_number and patient.nhs_number and patient.nhs_number != facts.nhs_number:
        raise Invalid(
            "PID-3 NHS number differs from the one held for this hospital number",
            code=codes.UNKNOWN_KEY,
            location="PID-3",
        )
    return patient


def upsert_patient(
    session: Session, facts: PatientFacts | None, *, actor: Principal, now: datetime, update: bool
) -> Patient:
    """Find the patient, registering them if new; with `update`, refresh their demographics."""
    if facts is None or not facts.identified:
        raise Invalid(
            "PID-3 has neither an NHS number nor a hospital number", code=codes.REQUIRED_FIELD_MISSING, location="PID-3"
        )
    patient = find_patient(session, facts)
    if patient is None:
        for attr, where in (
            ("mrn", "PID-3"),
            ("family_name", "PID-5"),
            ("given_name", "PID-5"),
            ("date_of_birth", "PID-7"),
        ):
            if not getattr(facts, attr):
                raise Invalid(
                    f"{where} {_LABEL_OF[attr]} is missing: needed to register a new patient",
                    code=codes.REQUIRED_FIELD_MISSING,
                    location=where,
                )
        data = _validated(
            {
                "nhs_number": facts.nhs_number,
                "mrn": facts.mrn,
                "family_name": facts.family_name,
                "given_name": facts.given_name,
                "date_of_birth": facts.date_of_birth,
                "sex": facts.sex or "unknown",
            }
        )
        # find_patient has just searched both identifiers and found nobody.
        return patients.create_patient(session, actor=actor, data=data, now=now, looked_up=True)
    if update:
        current = {
            "nhs_number": patient.nhs_number,
            "mrn": patient.mrn,
            "family_name": patient.family_name,
            "given_name": patient.given_name,
            "date_of_birth": patient.date_of_birth,
            "sex": patient.sex,
        }
        sent = {
            "nhs_number": facts.nhs_number,
            "family_name": facts.family_name,
            "given_name": facts.given_name,
            "date_of_birth": facts.date_of_birth,
            "sex": facts.sex,
        }
        merged = current | {k: v for k, v in sent.items() if v}
        data = _validated(merged).model_dump()
        changes = {k: v for k, v in data.items() if k != "mrn" and v != current[k]}
        if changes:
            patients.update_patient(
                session, actor=actor, patient=patient, changes=changes, expected_version=patient.version, now=now
            )
    return patient


# -- stays ------------------------------------------------------------------------------------


def _visit(adt: Adt) -> VisitFacts:
    if adt.visit is None or not adt.visit.visit_number:
        raise Invalid("PV1-19 visit number is missing", code=codes.REQUIRED_FIELD_MISSING, location="PV1-19")
    return adt.visit


# Built once: nearly every message runs it, and building a join costs more than running it.
_STAY_OF_VISIT = (
    select(Stay, Patient)
    .join(Patient, Patient.id == Stay.patient_id)  # type: ignore[arg-type]
    .where(Stay.pas_visit_number == bindparam("visit_number"))
)


def _stay(session: Session, visit_number: str) -> Stay | None:
    """The stay of a PAS visit, read together with its patient (held for the transaction, so
    checking the patient costs no second query)."""
    row = session.exec(_STAY_OF_VISIT, params={"visit_number": visit_number}).first()
    if row is None:
        return None
    stay, patient = row
    mapping.pin(session, patient)
    return stay


def _same_patient(session: Session, stay: Stay, facts: PatientFacts | None) -> None:
    if facts is None or not facts.identified:
        raise Invalid(
            "PID-3 has neither an NHS number nor a hospital number", code=codes.REQUIRED_FIELD_MISSING, location="PID-3"
        )
    held = session.get(Patient, stay.patient_id)
    if held is not None and all(
        sent == mine for sent, mine in ((facts.nhs_number, held.nhs_number), (facts.mrn, held.mrn)) if sent
    ):
        return  # every identifier sent is this patient's own (both are unique): no lookup needed
    patient = find_patient(session, facts)
    if patient is None or patient.id != stay.patient_id:
        raise Invalid(
            "PV1-19 visit number belongs to a different patient from the one in PID-3",
            code=codes.UNKNOWN_KEY,
            location="PV1-19",
        )


def _place(session: Session, visit: VisitFacts, *, required: bool) -> tuple[int, int | None] | None:
    if visit.location is None:
        if required:
            raise Invalid("PV1-3 assigned location is missing", code=codes.REQUIRED_FIELD_MISSING, location="PV1-3")
        return None
    return mapping.resolve(session, visit.location)


def _move(
    session: Session, stay: Stay, place: tuple[int, int | None], *, at: datetime, actor: Principal, now: datetime
) -> bool:
    """Transfer to the PAS location unless already there. A PAS location without a bed never
    takes the patient out of a bed on the same ward (beds are often kept only in Boardround)."""
    ward_id, bed_id = place
    if ward_id == stay.ward_id and (bed_id == stay.bed_id or bed_id is None):
        return False
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
    adt: Adt,
    patient: Patient,
    visit: VisitFacts,
    place: tuple[int, int | None],
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


def _late_admit(session: Session, adt: Adt, visit: VisitFacts, *, actor: Principal, now: datetime) -> Stay:
    """A02/A03 for a visit we never saw: create the stay from the full PID and PV1, if they
    carry enough (a mapped PV1-3 and the PV1-44 admit time); otherwise AE."""
    if visit.location is None or visit.admitted_at is None:
        missing = "PV1-3 assigned location" if visit.location is None else "PV1-44 admit time"
        raise Invalid(
            f"PV1-19 visit number is not known here, and {missing} is missing to create the stay",
            code=codes.UNKNOWN_KEY,
            location="PV1-19",
        )
    place = mapping.resolve(session, visit.location)
    patient = upsert_patient(session, adt.patient, actor=actor, now=now, update=True)
    return _admit(session, adt, patient, visit, place, admitted_at=visit.admitted_at, actor=actor, now=now)


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
    stay = _stay(session, visit.visit_number)
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
    admitted_at = visit.admitted_at or adt.event_at or now
    stay = _admit(session, adt, patient, visit, place, admitted_at=admitted_at, actor=actor, now=now)
    return _effect("admitted", stay)


def _a02_transfer(session: Session, adt: Adt, *, actor: Principal, now: datetime) -> Effect:
    visit = _visit(adt)
    place = _place(session, visit, required=True)
    assert place is not None
    stay = _stay(session, visit.visit_number)
    if stay is None:
        stay = _late_admit(session, adt, visit, actor=actor, now=now)
        return _effect("admitted at the new location (visit first seen on A02)", stay)
    _same_patient(session, stay, adt.patient)
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
    stay = _stay(session, visit.visit_number)
    created = False
    if stay is None:
        stay = _late_admit(session, adt, visit, actor=actor, now=now)
        created = True
    else:
        _same_patient(session, stay, adt.patient)
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
    stay = _stay(session, visit.visit_number)
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
    stay = _stay(session, visit.visit_number)
    if stay is None:
        return _effect("visit not known here: nothing to cancel")
    _same_patient(session, stay, adt.patient)
    ward_id, patient_id = stay.ward_id, stay.patient_id
    outcome = cancel_admission(session, actor=actor, stay=stay, at=adt.event_at or now, now=now)
    if outcome == "deleted":
        return Effect("admission cancelled: stay removed", patient_id=patient_id, ward_id=ward_id)
    return _effect("admission cancelled: stay ended (destination 98) to keep its clinical records", stay)


def _a12_cancel_transfer(session: Session, adt: Adt, *, actor: Principal, now: datetime) -> Effect:
    visit = _visit(adt)
    stay = _stay(session, visit.visit_number)
    if stay is None:
        raise Invalid(
            "PV1-19 visit number is not known here: no transfer to cancel", code=codes.UNKNOWN_KEY, location="PV1-19"
        )
    _same_patient(session, stay, adt.patient)
    if stay.discharged_at is not None:
        raise Invalid(
            "This visit has been discharged: a transfer cannot be cancelled after discharge", code=codes.INTERNAL_ERROR
        )
    place = _place(session, visit, required=False)
    pair = previous_location(session, stay)
    if place is not None:
        # PV1-3 of an A12 is where the patient goes back to: it must be the previous location.
        previous = pair[0] if pair is not None else None
        back = previous is not None and place[0] == previous.ward_id and place[1] in (None, previous.bed_id)
        if not back:
            if place[0] == stay.ward_id and place[1] in (None, stay.bed_id):
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
    stay = _stay(session, visit.visit_number)
    if stay is None:
        raise Invalid(
            "PV1-19 visit number is not known here: no discharge to cancel", code=codes.UNKNOWN_KEY, location="PV1-19"
        )
    _same_patient(session, stay, adt.patient)
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


# -- running outside a request: the MLLP listener and file import ------------------------------


class AccountError(Exception):
    """The integration account is missing, disabled or not an integration account."""


def integration_principal(session: Session, username: str) -> Principal:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise AccountError(
            f"No user called {username!r}: create it with `boardround user create {username} --role integration --service-account`"
        )
    if user.role_code != INTEGRATION_ROLE:
        raise AccountError(f"{username!r} has role {user.role_code!r}, not {INTEGRATION_ROLE!r}")
    if not user.is_active:
        raise AccountError(f"{username!r} is disabled")
    return principal_for(session, user)


class Receiver:
    """Handles messages in fresh sessions on an engine, as the integration account.

    Thread-safe. On SQLite, writers are serialised (one writer at a time is all SQLite allows;
    queueing here is cheaper than lock retries). The account is re-checked every
    `account_ttl` seconds, so disabling it stops the feed without a restart.
    """

    def __init__(
        self,
        engine: Engine,
        account: str = "pas-feed",
        *,
        now: Callable[[], datetime] | None = None,
        account_ttl: float = 30.0,
    ) -> None:
        self.engine = engine
        self.account = account
        self.now = now or (lambda: get_clock().now())
        self.account_ttl = account_ttl
        self._lock = threading.Lock() if engine.dialect.name == "sqlite" else None
        self._principal: Principal | None = None
        self._checked = 0.0
        self.principal()  # fail fast

    def principal(self) -> Principal:
        if self._principal is None or time.monotonic() - self._checked > self.account_ttl:
            for attempt in range(2):  # once more on a new connection if the pooled one had dropped
                try:
                    with Session(self.engine) as session:
                        self._principal = integration_principal(session, self.account)
                    break
                except OperationalError as exc:
                    if attempt or not exc.connection_invalidated:
                        raise Unavailable(type(exc).__name__) from exc
            self._checked = time.monotonic()
        return self._principal

    def __call__(self, raw: bytes | str, channel: str) -> Ack:
        actor = self.principal()
        if self._lock is None:
            return self._handle(raw, actor, channel)
        with self._lock:
            return self._handle(raw, actor, channel)

    def _handle(self, raw: bytes | str, actor: Principal, channel: str) -> Ack:
        with Session(self.engine, expire_on_commit=False) as session:
            return handle(session, raw, actor=actor, now=self.now(), channel=channel)


# -- review, retry and retention --------------------------------------------------------------


def failed_messages(session: Session, *, limit: int = 100) -> list[AdtMessage]:
    return list(
        session.exec(
            select(AdtMessage)
            .where(AdtMessage.status != "applied")
            .order_by(AdtMessage.received_at.desc(), AdtMessage.id.desc())  # type: ignore[union-attr]
            .limit(limit)
        )
    )


def retry(session: Session, *, control_id: str, actor: Principal, now: datetime) -> Ack:
    """Apply a stored failed message again (after fixing the location map, say).

    The old row gives up its control ID first, then the message is handled like a new one
    (stored as applied, or failed again with its text kept), and the old row is removed.
    """
    row = session.exec(select(AdtMessage).where(AdtMessage.control_id == control_id)).first()
    if row is None:
        raise NotFound("No message with that control ID")
    if row.status == "applied":
        raise Conflict("That message has already been applied")
    if row.raw is None:
        raise Conflict("That message's text has been purged: ask the PAS team to resend it")
    raw, old_id = row.raw, row.id
    row.control_id = None
    commit(session)
    ack = handle(session, raw, actor=actor, now=now, channel="retry")
    old = session.get(AdtMessage, old_id)
    if old is not None:
        session.delete(old)
    stored = session.exec(select(AdtMessage).where(AdtMessage.control_id == control_id)).first()
    if stored is not None:
        stored.retried_at = now
    commit(session)
    return ack


def purge(session: Session, *, raw_older_than: datetime, rows_older_than: datetime) -> tuple[int, int]:
    """Retention: drop raw text of old failed messages, and old rows altogether."""
    from sqlalchemy import delete, update

    cleared = session.execute(
        update(AdtMessage)
        .where(AdtMessage.raw.is_not(None), AdtMessage.received_at < raw_older_than)  # type: ignore[union-attr]
        .values(raw=None)
    ).rowcount
    deleted = session.execute(delete(AdtMessage).where(AdtMessage.received_at < rows_older_than)).rowcount
    commit(session)
    return cleared or 0, deleted or 0
