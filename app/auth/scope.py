"""Load-or-404 helpers that enforce ward scope on the server.

A record on a ward the user is not assigned to answers 404, exactly like a missing one, so ids
cannot be probed (no IDOR). Views and API routes load through these, never with session.get.
The same holds for ids that arrive in a request body (a patient to admit, a bed, a sponsor):
they go through these helpers too, and error details name only records the user could read.
"""

from __future__ import annotations

from typing import TypeVar

from sqlmodel import Session, SQLModel, col, select

from app.core.errors import NotFound
from app.core.principal import Principal
from app.models import Patient, Stay, User, UserWard, Ward

T = TypeVar("T", bound=SQLModel)


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


def can_read_patient(session: Session, principal: Principal, patient_id: int) -> bool:
    """A patient is in scope once they have had a stay on one of the user's wards."""
    if principal.site_wide:
        return True
    visible = session.exec(
        select(Stay.id).where(Stay.patient_id == patient_id, col(Stay.ward_id).in_(principal.ward_ids or {-1})).limit(1)
    ).first()
    return visible is not None


def patient_or_404(session: Session, principal: Principal, patient_id: int) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None or not can_read_patient(session, principal, patient_id):
        raise NotFound("No such patient")
    return patient


def user_in_scope(session: Session, principal: Principal, user_id: int) -> User | None:
    """A colleague the user may name (a sponsor, an owner): anyone for site-wide roles,
    otherwise someone assigned to one of the user's wards. None when missing or out of scope."""
    user = session.get(User, user_id)
    if user is None or principal.site_wide:
        return user
    shared = session.exec(
        select(UserWard.ward_id)
        .where(UserWard.user_id == user_id, col(UserWard.ward_id).in_(principal.ward_ids or {-1}))
        .limit(1)
    ).first()
    return user if shared is not None else None


def on_stay_or_404(session: Session, principal: Principal, model: type[T], record_id: int, what: str) -> tuple[T, Stay]:
    """A record that hangs off a stay (an escalation, a failed discharge) and its stay. One out of
    scope gets the record's own "No such ..." (not "No such stay"), word for word a missing one."""
    record = session.get(model, record_id)
    stay = session.get(Stay, record.stay_id) if record is not None else None  # type: ignore[attr-defined]
    if record is None or stay is None or not principal.can_access_ward(stay.ward_id):
        raise NotFound(f"No such {what}")
    return record, stay
