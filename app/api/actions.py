from __future__ import annotations

from fastapi import APIRouter, Response

from app.actions import service
from app.actions.schemas import ActionCreate, ActionPublic, ActionUpdate
from app.auth.deps import Requires
from app.auth.permissions import Perm
from app.auth.scope import stay_or_404
from app.core.concurrency import expected_version
from app.core.params import IfMatch, Now, PathId, etag
from app.db import SessionDep, commit
from app.web.idempotency import IdempotentRoute

router = APIRouter(prefix="/stays/{stay_id}/actions", tags=["actions"], route_class=IdempotentRoute)


@router.get("", response_model=list[ActionPublic])
def list_actions(stay_id: PathId, session: SessionDep, actor: Requires(Perm.READ_WARD), open_only: bool = False):
    stay = stay_or_404(session, actor, stay_id)
    return service.actions_for_stay(session, stay.id, open_only=open_only)  # type: ignore[arg-type]


@router.post("", response_model=ActionPublic, status_code=201)
def create_action(
    stay_id: PathId, data: ActionCreate, session: SessionDep, actor: Requires(Perm.WRITE_CLINICAL), now: Now
):
    stay = stay_or_404(session, actor, stay_id)
    action = service.create_action(session, actor=actor, stay=stay, data=data, now=now)
    commit(session)
    return action


@router.patch("/{action_id}", response_model=ActionPublic)
def update_action(
    stay_id: PathId,
    action_id: PathId,
    data: ActionUpdate,
    session: SessionDep,
    actor: Requires(Perm.WRITE_CLINICAL),
    now: Now,
    response: Response,
    if_match: IfMatch = None,
):
    stay = stay_or_404(session, actor, stay_id)
    action = service.action_or_404(session, stay, action_id)
    service.update_action(
        session,
        actor=actor,
        action=action,
        stay=stay,
        data=data,
        expected_version=expected_version(if_match, data.version),
        now=now,
    )
    commit(session)
    response.headers.update(etag(action.version))
    return action
