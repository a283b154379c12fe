"""Referrals made for a discharge: add one, record its decision. Audited; no commit."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from app.audit import crud
from app.core.errors import NotFound, RuleViolation
from app.core.principal import Principal
from app.models import Referral, Stay
from app.stays.schemas import DECISION_BEFORE_SENT, ReferralCreate, ReferralDecision


def referral_or_404(session: Session, stay: Stay, referral_id: int) -> Referral:
    referral = session.get(Referral, referral_id)
    if referral is None or referral.stay_id != stay.id:
        raise NotFound("No such referral")
    return referral


def add_referral(session: Session, *, actor: Principal, stay: Stay, data: ReferralCreate, now: datetime) -> Referral:
    referral = Referral(
        stay_id=stay.id, created_by_id=actor.user_id, created_at=now, updated_at=now, **data.model_dump()
    )
    crud.create(session, actor=actor, row=referral, now=now, ward_id=stay.ward_id, patient_id=stay.patient_id)
    return referral


def record_decision(
    session: Session,
    *,
    actor: Principal,
    stay: Stay,
    referral: Referral,
    data: ReferralDecision,
    expected_version: int,
    now: datetime,
) -> Referral:
    if data.decision_on and data.decision_on < referral.sent_on:
        raise RuleViolation(DECISION_BEFORE_SENT, field="decision_on")
    crud.update(
        session,
        actor=actor,
        row=referral,
        now=now,
        ward_id=stay.ward_id,
        patient_id=stay.patient_id,
        changes={"decision_on": data.decision_on, "decision": data.decision},
        expected_version=expected_version,
        present=lambda: {"to_service": referral.to_service, "version": referral.version},
    )
    return referral
