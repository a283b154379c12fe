"""Load-or-404 helpers that enforce ward scope on the server.

A record on a ward the user is not assigned to answers 404, exactly like a missing one, so ids
cannot be probed (no IDOR). Views and API routes load through these, never with session.get.
"""

from __future__ import annotations

from sqlmodel import Session, select

from app.auth.principal import Principal
from app.core.errors import NotFound
from app.models import Patient, Stay, Ward


def ward_or_404(session: Session, principal: Principal, ward_id: int) -> Ward:
    ward = session.get(Ward, ward_id)
    if ward is None or not principal.can_access_ward(ward.id):
        raise NotFound("No such ward")
    return ward


def ward_by_code_or_404(session: Session, principal: Principal, code: str) -> Ward:
    ward = session.exec(select(Ward).where(Ward.code == code)).first()
    if ward is None or not principal.can_access_ward(ward.id):
        raise NotFound("No such ward")
    return ward


def stay_or_404(session: Session, principal: Principal, stay_id: int) -> Stay:
    stay = session.get(Stay, stay_id)
    if stay is None or not principal.can_access_ward(stay.ward_id):
        raise NotFound("No such stay")
    return stay


def patient_or_404(session: Session, principal: Principal, patient_id: int) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("No such patient")
    if principal.site_wide:
        return patient
    visible = session.exec(
        select(Stay.id)
        .where(
            Stay.patient_id == patient_id,
            Stay.ward_id.in_(principal.ward_ids or {-1}),  # type: ignore[attr-defined]
        )
        .limit(1)
    ).first()
    if visible is None:
        raise NotFound("No such patient")
    return patient
