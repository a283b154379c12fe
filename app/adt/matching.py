"""Which patient and which stay a message is about: PID-3 identifiers and the PV1-19 visit number.

A patient is found by NHS number or hospital number (refusing identifiers that name two
people) and registered if new; the visit number names our stay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, or_
from sqlmodel import Session, select

from app.adt import errors as codes
from app.adt import mapping
from app.adt.errors import Invalid
from app.adt.parser import PatientFacts
from app.core.principal import Principal
from app.models import Patient, Stay
from app.patients import service as patients
from app.patients.schemas import PatientCreate

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


def _identified(facts: PatientFacts | None) -> PatientFacts:
    if facts is None or not facts.identified:
        raise Invalid(
            "PID-3 has neither an NHS number nor a hospital number", code=codes.REQUIRED_FIELD_MISSING, location="PID-3"
        )
    return facts


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
    facts = _identified(facts)
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


# Built once: nearly every message runs it, and building a join costs more than running it.
_STAY_OF_VISIT = (
    select(Stay, Patient)
    .join(Patient, Patient.id == Stay.patient_id)  # type: ignore[arg-type]
    .where(Stay.pas_visit_number == bindparam("visit_number"))
)


def stay_of_visit(session: Session, visit_number: str) -> Stay | None:
    """The stay of a PAS visit, read together with its patient (held for the transaction, so
    checking the patient costs no second query)."""
    row = session.exec(_STAY_OF_VISIT, params={"visit_number": visit_number}).first()
    if row is None:
        return None
    stay, patient = row
    mapping.pin(session, patient)
    return stay


def same_patient(session: Session, stay: Stay, facts: PatientFacts | None) -> None:
    """Refuse a message whose PID-3 names someone other than the patient of the visit's stay."""
    facts = _identified(facts)
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
