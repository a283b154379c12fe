"""Patients: register and update demographics, with NHS number and MRN uniqueness."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlmodel import Session, or_, select

from app.audit import service as audit
from app.audit.versions import check_version
from app.auth.scope import can_read_patient
from app.core.errors import Conflict
from app.core.principal import Principal
from app.models import Patient
from app.patients.schemas import PatientCreate, PatientPublic

log = logging.getLogger("boardround.patients")


def _ensure_unique(
    session: Session, *, actor: Principal, nhs_number: str | None, mrn: str | None, exclude_id: int | None
) -> None:
    """Refuse an NHS number or hospital number that another patient already has (one query).

    The clash names the other patient's id only to a user who could read that patient."""
    conditions = []
    if nhs_number:
        conditions.append(Patient.nhs_number == nhs_number)
    if mrn:
        conditions.append(Patient.mrn == mrn)
    if not conditions:
        return
    query = select(Patient.id, Patient.nhs_number, Patient.mrn).where(or_(*conditions))
    if exclude_id is not None:
        query = query.where(Patient.id != exclude_id)
    others = session.exec(query).all()
    clash = next(((i, "nhs_number") for i, other_nhs, _ in others if nhs_number and other_nhs == nhs_number), None)
    clash = clash or next(((i, "mrn") for i, _, other_mrn in others if mrn and other_mrn == mrn), None)
    if clash is None:
        return
    other_id, field = clash
    what = "NHS number" if field == "nhs_number" else "hospital number"
    if can_read_patient(session, actor, other_id):
        raise Conflict(f"A patient with this {what} already exists", field=field, detail={"patient_id": other_id})
    # Registering someone the hospital already has: admitting them by their details is the way.
    hint = ": to admit them, send their details with the admission" if exclude_id is None else ""
    raise Conflict(f"A patient with this {what} is already registered{hint}", field=field)


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _same_person(patient: Patient, data: PatientCreate) -> bool:
    """Every identifier the hospital holds, as the caller sent it: a wristband's worth of facts,
    so a match proves the caller already knows who this is (sex is not compared: it is often
    recorded as unknown at first)."""
    return (
        patient.nhs_number == data.nhs_number
        and patient.mrn == data.mrn
        and patient.date_of_birth == data.date_of_birth
        and _same_text(patient.family_name, data.family_name)
        and _same_text(patient.given_name, data.given_name)
    )


# Says which record to check, never what the hospital holds: no field is named.
DETAILS_DIFFER = (
    "These details do not match the hospital's record for this NHS number or hospital number: "
    "check them against the patient's wristband, or ask the flow team to admit the patient"
)


def match(session: Session, *, actor: Principal, data: PatientCreate) -> Patient | None:
    """The hospital's record for these identifiers when every detail agrees with it; None when the
    hospital has never seen either identifier; otherwise a 409 that names no record and no field
    (DETAILS_DIFFER)."""
    conditions = [Patient.mrn == data.mrn]
    if data.nhs_number:
        conditions.append(Patient.nhs_number == data.nhs_number)
    found = list(session.exec(select(Patient).where(or_(*conditions)).limit(2)))
    if not found:
        return None
    if len(found) == 1 and _same_person(found[0], data):
        return found[0]
    # A run of these from one user is someone guessing: worth seeing (the user, never the details).
    log.warning("admission refused: details did not match the record (user %s)", actor.user_id)
    raise Conflict(DETAILS_DIFFER, field="patient")


def match_or_register(session: Session, *, actor: Principal, data: PatientCreate, now: datetime) -> Patient:
    """The patient to admit, named by the identifiers ward staff hold rather than by our ids.

    Registers them if the hospital has never seen either identifier; otherwise the existing
    record is used only when every identifier and the name and date of birth agree with what was
    sent, so the answer (which shows the patient) holds nothing the caller did not already know.
    Anything else is a 409 that names no record and no field.
    """
    found = match(session, actor=actor, data=data)
    if found is None:
        return create_patient(session, actor=actor, data=data, now=now, looked_up=True)
    return found


def create_patient(
    session: Session, *, actor: Principal, data: PatientCreate, now: datetime, looked_up: bool = False
) -> Patient:
    """Register a patient. `looked_up`: the caller has just searched for both identifiers in this
    transaction and found nobody, so the check is not repeated (the unique indexes still hold)."""
    if not looked_up:
        _ensure_unique(session, actor=actor, nhs_number=data.nhs_number, mrn=data.mrn, exclude_id=None)
    patient = Patient(**data.model_dump(), created_at=now, updated_at=now)
    session.add(patient)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity=patient,
        at=now,
        after=audit.snapshot(patient),
        patient_id=patient.id,
    )
    return patient


def update_patient(
    session: Session,
    *,
    actor: Principal,
    patient: Patient,
    changes: dict[str, Any],
    expected_version: int,
    now: datetime,
) -> Patient:
    check_version(
        session, patient, expected_version, lambda: PatientPublic.model_validate(patient).model_dump(mode="json")
    )
    _ensure_unique(session, actor=actor, nhs_number=changes.get("nhs_number"), mrn=None, exclude_id=patient.id)
    before = audit.snapshot(patient)
    for key, value in changes.items():
        setattr(patient, key, value)
    patient.updated_at = now
    session.flush()
    old, new = audit.changed(before, audit.snapshot(patient))
    audit.record(
        session, actor=actor, action="update", entity=patient, at=now, before=old, after=new, patient_id=patient.id
    )
    return patient
