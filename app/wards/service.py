"""Wards and beds: set up the hospital's places."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.audit import crud
from app.auth.scope import user_in_scope
from app.core.errors import Conflict, RuleViolation
from app.core.principal import Principal
from app.models import Bed, Site, Stay, Ward
from app.wards.schemas import BedCreate, BedPublic, WardCreate, WardPublic


def _check_sponsor(session: Session, actor: Principal, user_id: int | None) -> None:
    """A missing user, someone outside the actor's wards and someone without the role all get
    the same answer, so the field cannot be used to find out who works where."""
    if user_id is None:
        return
    user = user_in_scope(session, actor, user_id)
    if user is None or user.role_code != "executive_sponsor":
        raise RuleViolation("The executive sponsor must be a user with that role", field="executive_sponsor_id")


def create_ward(session: Session, *, actor: Principal, data: WardCreate, now: datetime) -> Ward:
    if session.get(Site, data.site_id) is None:
        raise RuleViolation("No such site", field="site_id")
    if session.exec(select(Ward.id).where(Ward.code == data.code)).first() is not None:
        raise Conflict("A ward with this code already exists", field="code")
    _check_sponsor(session, actor, data.executive_sponsor_id)
    ward = Ward(**data.model_dump(), created_at=now, updated_at=now)
    crud.create(session, actor=actor, row=ward, now=now, ward_id=None, patient_id=None)
    return ward


def update_ward(
    session: Session, *, actor: Principal, ward: Ward, changes: dict[str, Any], expected_version: int, now: datetime
) -> Ward:
    if "executive_sponsor_id" in changes and changes["executive_sponsor_id"] != ward.executive_sponsor_id:
        _check_sponsor(session, actor, changes["executive_sponsor_id"])
    crud.update(
        session,
        actor=actor,
        row=ward,
        changes=changes,
        expected_version=expected_version,
        now=now,
        ward_id=ward.id,
        patient_id=None,
        present=lambda: WardPublic.model_validate(ward).model_dump(mode="json"),
    )
    return ward


def add_bed(session: Session, *, actor: Principal, ward: Ward, data: BedCreate, now: datetime) -> Bed:
    if session.exec(select(Bed.id).where(Bed.ward_id == ward.id, Bed.label == data.label)).first():
        raise Conflict("This ward already has a bed with that label", field="label")
    bed = Bed(ward_id=ward.id, **data.model_dump(), created_at=now, updated_at=now)
    crud.create(session, actor=actor, row=bed, now=now, ward_id=ward.id, patient_id=None)
    return bed


def update_bed(
    session: Session, *, actor: Principal, bed: Bed, changes: dict[str, Any], expected_version: int, now: datetime
) -> Bed:
    if changes.get("is_open") is False and bed.is_open:
        occupied = session.exec(select(Stay.id).where(Stay.bed_id == bed.id, col(Stay.discharged_at).is_(None))).first()
        if occupied is not None:
            raise Conflict("Move the patient before closing this bed", field="is_open")
    if "label" in changes and changes["label"] != bed.label:
        clash = session.exec(select(Bed.id).where(Bed.ward_id == bed.ward_id, Bed.label == changes["label"])).first()
        if clash is not None:
            raise Conflict("This ward already has a bed with that label", field="label")
    crud.update(
        session,
        actor=actor,
        row=bed,
        changes=changes,
        expected_version=expected_version,
        now=now,
        ward_id=bed.ward_id,
        patient_id=None,
        present=lambda: BedPublic.model_validate(bed).model_dump(mode="json"),
    )
    return bed
