"""Referrals made for a discharge: send one to a service, record how it moved on (answer,
assessment, decision). Audited; no commit. docs/referrals.md."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlmodel import Session, col, select

from app.audit import crud
from app.core import codes
from app.core.errors import Conflict, NotFound, RuleViolation
from app.core.principal import Principal
from app.models import Referral, ReferralService, Stay
from app.stays.schemas import MOMENT_BEFORE_SENT, ReferralCreate, ReferralPublic, ReferralUpdate

SENT, ASSESSED, DECIDED = "sent", "assessed", "decided"


class PastTarget(NamedTuple):
    referral_id: int
    stay_id: int
    ward_id: int
    service_code: str
    sent_at: datetime
    target_at: datetime  # sent_at + the service's decision_target_hours


def status(referral: Referral) -> str:
    """Where a referral has got to: decided, else declined or challenged, else assessed, else
    accepted, else sent."""
    if referral.decided_at is not None:
        return DECIDED
    if referral.response in (codes.REFERRAL_DECLINED, codes.REFERRAL_CHALLENGED):
        return referral.response
    if referral.assessed_at is not None:
        return ASSESSED
    return referral.response or SENT


def is_open(referral: Referral) -> bool:
    """Still waiting for the service: not decided, declined or challenged."""
    return status(referral) not in (DECIDED, codes.REFERRAL_DECLINED, codes.REFERRAL_CHALLENGED)


def present(referral: Referral) -> ReferralPublic:
    fields = {k: getattr(referral, k) for k in ReferralPublic.model_fields if k != "status"}
    return ReferralPublic(**fields, status=status(referral))


def referral_or_404(session: Session, stay: Stay, referral_id: int) -> Referral:
    referral = session.get(Referral, referral_id)
    if referral is None or referral.stay_id != stay.id:
        raise NotFound("No such referral")
    return referral


def referrals_for_stay(session: Session, stay_id: int) -> list[Referral]:
    return list(session.exec(select(Referral).where(Referral.stay_id == stay_id).order_by(col(Referral.id))))


def _not_future(moment: datetime | None, now: datetime, field: str) -> None:
    if moment is not None and moment > now:
        raise RuleViolation("This cannot be in the future", field=field)


def add_referral(session: Session, *, actor: Principal, stay: Stay, data: ReferralCreate, now: datetime) -> Referral:
    if stay.discharged_at is not None:
        raise Conflict("This stay has ended", field="stay")
    service = session.get(ReferralService, data.service_code)
    if service is None or not service.active:
        raise RuleViolation("Choose a service from the list", field="service_code")
    _not_future(data.sent_at, now, "sent_at")
    if data.sent_at < stay.admitted_at:
        raise RuleViolation("A referral for this stay cannot be sent before the admission", field="sent_at")
    referral = Referral(
        stay_id=stay.id, created_by_id=actor.user_id, created_at=now, updated_at=now, **data.model_dump()
    )
    crud.create(session, actor=actor, row=referral, now=now, ward_id=stay.ward_id, patient_id=stay.patient_id)
    return referral


def update_referral(
    session: Session,
    *,
    actor: Principal,
    stay: Stay,
    referral: Referral,
    data: ReferralUpdate,
    expected_version: int,
    now: datetime,
) -> Referral:
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    if "response" in changes and changes["response"] not in codes.REFERRAL_RESPONSES:
        raise RuleViolation("Choose accepted, declined or challenged", field="response")
    response = changes.get("response", referral.response)
    if response and changes.get("responded_at", referral.responded_at) is None:
        raise RuleViolation("Say when the service answered", field="responded_at")
    reason = changes.get("challenge_reason", referral.challenge_reason)
    if response == codes.REFERRAL_CHALLENGED and not reason:
        raise RuleViolation("Say why the referral was challenged as inappropriate", field="challenge_reason")
    for field in ("responded_at", "assessed_at", "decided_at"):
        moment = changes.get(field)
        _not_future(moment, now, field)
        if moment is not None and moment < referral.sent_at:
            raise RuleViolation(MOMENT_BEFORE_SENT, field=field)
    crud.update(
        session,
        actor=actor,
        row=referral,
        now=now,
        ward_id=stay.ward_id,
        patient_id=stay.patient_id,
        changes=changes,
        expected_version=expected_version,
        present=lambda: present(referral).model_dump(mode="json"),
    )
    return referral


def waiting_past_target(session: Session, now: datetime, ward_ids: Collection[int] | None = None) -> list[PastTarget]:
    """Open referrals of current stays whose service has not decided within its
    `decision_target_hours` (alerts); `ward_ids` None: every ward. Oldest target first."""
    query = (
        select(Referral, Stay.ward_id, ReferralService.decision_target_hours)
        .join(Stay, col(Stay.id) == Referral.stay_id)
        .join(ReferralService, col(ReferralService.code) == Referral.service_code)
        .where(
            col(Stay.discharged_at).is_(None),
            col(Referral.decided_at).is_(None),
            col(Referral.response).not_in((codes.REFERRAL_DECLINED, codes.REFERRAL_CHALLENGED)),
            col(Referral.sent_at) <= now,
        )
    )
    if ward_ids is not None:
        query = query.where(col(Stay.ward_id).in_(ward_ids or {-1}))
    found = []
    for referral, ward_id, hours in session.exec(query):
        target = referral.sent_at + timedelta(hours=hours)
        if target <= now:
            found.append(
                PastTarget(referral.id, referral.stay_id, ward_id, referral.service_code, referral.sent_at, target)
            )
    return sorted(found, key=lambda p: (p.target_at, p.referral_id))
