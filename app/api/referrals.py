"""Referrals of a stay to services: list, send, record the answer, assessment and decision."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.auth.deps import CanReadWard, CanWriteClinical
from app.auth.scope import stay_or_404
from app.core.concurrency import expected_version
from app.core.params import IfMatch, Now, PathId, etag
from app.db import SessionDep, commit
from app.stays import referrals
from app.stays.schemas import ReferralCreate, ReferralPublic, ReferralUpdate
from app.web.idempotency import IdempotentRoute

router = APIRouter(prefix="/stays/{stay_id}/referrals", tags=["referrals"], route_class=IdempotentRoute)


@router.get("", response_model=list[ReferralPublic])
def list_referrals(stay_id: PathId, session: SessionDep, actor: CanReadWard) -> list[ReferralPublic]:
    stay = stay_or_404(session, actor, stay_id)
    return [referrals.present(r) for r in referrals.referrals_for_stay(session, stay.id)]


@router.post("", response_model=ReferralPublic, status_code=201)
def create_referral(
    stay_id: PathId, data: ReferralCreate, session: SessionDep, actor: CanWriteClinical, now: Now, response: Response
) -> ReferralPublic:
    """Send a referral to a service (`service_code` from /reference/referral-services)."""
    stay = stay_or_404(session, actor, stay_id)
    referral = referrals.add_referral(session, actor=actor, stay=stay, data=data, now=now)
    commit(session)
    response.headers.update(etag(referral.version))
    return referrals.present(referral)


@router.patch("/{referral_id}", response_model=ReferralPublic)
def update_referral(
    stay_id: PathId,
    referral_id: PathId,
    data: ReferralUpdate,
    session: SessionDep,
    actor: CanWriteClinical,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> ReferralPublic:
    """The service's answer (`response` accepted, declined or challenged with `challenge_reason`,
    and `responded_at`), `assessed_at`, `decided_at` and `decision`."""
    stay = stay_or_404(session, actor, stay_id)
    referral = referrals.referral_or_404(session, stay, referral_id)
    referrals.update_referral(
        session,
        actor=actor,
        stay=stay,
        referral=referral,
        data=data,
        expected_version=expected_version(if_match, data.version),
        now=now,
    )
    commit(session)
    response.headers.update(etag(referral.version))
    return referrals.present(referral)
