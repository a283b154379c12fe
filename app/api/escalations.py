from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from sqlmodel import col, select

from app.auth.deps import Requires
from app.auth.permissions import Perm
from app.auth.scope import on_stay_or_404, stay_or_404
from app.core.concurrency import expected_version
from app.core.params import IfMatch, Now, PathId, etag
from app.core.types import Id
from app.db import SessionDep, commit
from app.escalations import service
from app.escalations.schemas import EscalationCreate, EscalationPublic, EscalationStep
from app.models import Escalation, Stay
from app.web.idempotency import IdempotentRoute

router = APIRouter(tags=["escalations"], route_class=IdempotentRoute)


@router.post("/stays/{stay_id}/escalations", response_model=EscalationPublic, status_code=201)
def raise_escalation(
    stay_id: PathId, data: EscalationCreate, session: SessionDep, actor: Requires(Perm.RAISE_ESCALATION), now: Now
):
    stay = stay_or_404(session, actor, stay_id)
    esc = service.raise_escalation(session, actor=actor, stay=stay, data=data, now=now)
    commit(session)
    return service.present(esc, service.events_for(session, [esc.id])[esc.id])  # type: ignore[index, list-item]


@router.get("/escalations", response_model=list[EscalationPublic])
def list_escalations(
    session: SessionDep,
    actor: Requires(Perm.READ_WARD),
    status: Literal["open", "acknowledged", "resolved", "unresolved"] | None = "unresolved",
    ward_id: Annotated[Id | None, Query()] = None,
    limit: int = Query(default=200, ge=1, le=1000),
):
    """Escalations on your wards, oldest first."""
    query = select(Escalation).join(Stay, col(Stay.id) == Escalation.stay_id)
    if status == "unresolved":
        query = query.where(Escalation.status != "resolved")
    elif status:
        query = query.where(Escalation.status == status)
    if ward_id is not None:
        query = query.where(Stay.ward_id == ward_id)
    if not actor.site_wide:
        query = query.where(col(Stay.ward_id).in_(actor.ward_ids or {-1}))
    rows = list(session.exec(query.order_by(Escalation.raised_at).limit(limit)))
    events = service.events_for(session, [r.id for r in rows])  # type: ignore[misc]
    return [service.present(r, events[r.id]) for r in rows]  # type: ignore[index]


def _scoped(session, actor, esc_id: int) -> tuple[Escalation, Stay]:  # noqa: ANN001
    return on_stay_or_404(session, actor, Escalation, esc_id, "escalation")


@router.get("/escalations/{esc_id}", response_model=EscalationPublic)
def get_escalation(esc_id: PathId, session: SessionDep, actor: Requires(Perm.READ_WARD), response: Response):
    esc, _ = _scoped(session, actor, esc_id)
    response.headers.update(etag(esc.version))
    return service.present(esc, service.events_for(session, [esc.id])[esc.id])  # type: ignore[index, list-item]


@router.post("/escalations/{esc_id}/steps", response_model=EscalationPublic)
def step_escalation(
    esc_id: PathId,
    data: EscalationStep,
    session: SessionDep,
    actor: Requires(Perm.ACT_ESCALATION),
    now: Now,
    response: Response,
    if_match: IfMatch = None,
):
    esc, stay = _scoped(session, actor, esc_id)
    service.step_escalation(
        session,
        actor=actor,
        esc=esc,
        stay=stay,
        step=data,
        expected_version=expected_version(if_match, data.version),
        now=now,
    )
    commit(session)
    response.headers.update(etag(esc.version))
    return service.present(esc, service.events_for(session, [esc.id])[esc.id])  # type: ignore[index, list-item]
