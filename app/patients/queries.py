"""Finding patients by identifier, within the wards the user may see."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.core.errors import RuleViolation
from app.core.principal import Principal
from app.models import Patient, Stay
from app.patients.schemas import PatientSearch

MAX_RESULTS = 20


def search(session: Session, principal: Principal, criteria: PatientSearch) -> list[Patient]:
    """Patients with this NHS number and/or hospital number (both must match when both are
    given) who have had a stay on one of the user's wards, unless the user is site-wide."""
    if not criteria.nhs_number and not criteria.mrn:
        raise RuleViolation("Give nhs_number or mrn", field="nhs_number")
    query = select(Patient)
    if criteria.nhs_number:
        query = query.where(Patient.nhs_number == criteria.nhs_number)
    if criteria.mrn:
        query = query.where(Patient.mrn == criteria.mrn)
    if not principal.site_wide:
        visible = select(Stay.patient_id).where(col(Stay.ward_id).in_(principal.ward_ids or {-1}))
        query = query.where(col(Patient.id).in_(visible))
    return list(session.exec(query.order_by(Patient.id).limit(MAX_RESULTS)))
