"""Patients: register and update demographics, with NHS number and MRN uniqueness."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, or_, select

from app.audit import service as audit
from app.auth.principal import Principal
from app.core.concurrency import check_version
from app.core.errors import Conflict
from app.models import Patient
from app.patients.schemas import PatientCreate, PatientPublic


def _ensure_unique(session: Session, *, nhs_number: str | None, mrn: str | None, exclude_id: int | None) -> None:
    """Refuse an NHS number or hospital number that another patient already has (one query)."""
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
    for other_id, other_nhs, _ in others:
        if nhs_number and other_nhs == nhs_number:
            raise Conflict(
                "A patient with this NHS number already exists", field="nhs_number", detail={"patient_id": other_id}
            )
    for other_id, _, other_mrn in others:
        if mrn and other_mrn == mrn:
            raise Conflict(
                "A patient with this hospital number already exists", field="mrn", detail={"patient_id": other_id}
            )


def create_patient(
    session: Session, *, actor: Principal, data: PatientCreate, now: datetime, looked_up: bool = False
) -> Patient:
    """Register a patient. `looked_up`: the caller has just searched for both identifiers in this
    transaction and found nobody, so the check is not repeated (the unique indexes still hold)."""
    if not looked_up:
        _ensure_unique(session, nhs_number=data.nhs_number, mrn=data.mrn, exclude_id=None)
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
    _ensure_unique(session, nhs_number=changes.get("nhs_number"), mrn=None, exclude_id=patient.id)
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
