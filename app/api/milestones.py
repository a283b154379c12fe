"""Discharge milestones of a stay: read them, change one (status, due time, owner)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.auth.deps import CanReadWard, CanWriteClinical
from app.auth.scope import stay_or_404
from app.core.concurrency import expected_version
from app.core.params import IfMatch, Now, PathId, etag
from app.db import SessionDep, commit
from app.milestones import service
from app.milestones.schemas import MilestonePublic, MilestoneUpdate
from app.web.idempotency import IdempotentRoute

router = APIRouter(prefix="/stays/{stay_id}/milestones", tags=["milestones"], route_class=IdempotentRoute)


@router.get("", response_model=list[MilestonePublic])
def list_milestones(stay_id: PathId, session: SessionDep, actor: CanReadWard, now: Now) -> list[MilestonePublic]:
    """The stay's discharge milestones, each with its red/amber/green state now."""
    stay = stay_or_404(session, actor, stay_id)
    return [service.present(session, m, now) for m in service.milestones_for_stay(session, stay.id)]


@router.patch("/{milestone_id}", response_model=MilestonePublic)
def update_milestone(
    stay_id: PathId,
    milestone_id: PathId,
    data: MilestoneUpdate,
    session: SessionDep,
    actor: CanWriteClinical,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> MilestonePublic:
    """Status `not_started`, `in_progress`, `done` or `not_needed`; `due_at`; `owner_role_code`."""
    stay = stay_or_404(session, actor, stay_id)
    milestone = service.milestone_or_404(session, stay, milestone_id)
    service.update_milestone(
        session,
        actor=actor,
        stay=stay,
        milestone=milestone,
        data=data,
        expected_version=expected_version(if_match, data.version),
        now=now,
    )
    commit(session)
    response.headers.update(etag(milestone.version))
    return service.present(session, milestone, now)
