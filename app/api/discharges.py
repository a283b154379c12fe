from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlmodel import col, select

from app.auth.deps import Requires
from app.auth.permissions import Perm
from app.auth.scope import stay_or_404
from app.core.clock import london_start_of_day
from app.core.concurrency import expected_version
from app.core.params import IfMatch, Now, PathId, etag
from app.core.types import Id, IsoDate
from app.db import SessionDep, commit
from app.discharges import service
from app.discharges.schemas import (
    FailedDischargeCreate,
    FailedDischargePublic,
    FailedDischargeUpdate,
)
from app.models import FailedDischarge, Stay
from app.web.idempotency import IdempotentRoute

router = APIRouter(tags=["failed discharges"], route_class=IdempotentRoute)


@router.post("/stays/{stay_id}/failed-discharges", response_model=FailedDischargePublic, status_code=201)
def log_failed_discharge(
    stay_id: PathId,
    data: FailedDischargeCreate,
    session: SessionDep,
    actor: Requires(Perm.LOG_FAILED_DISCHARGE),
    now: Now,
):
    stay = stay_or_404(session, actor, stay_id)
    fd, causes = service.log_failed_discharge(session, actor=actor, stay=stay, data=data, now=now)
    commit(session)
    return service.present(fd, causes)


@router.get("/stays/{stay_id}/failed-discharges", response_model=list[FailedDischargePublic])
def list_for_stay(stay_id: PathId, session: SessionDep, actor: Requires(Perm.READ_WARD)):
    stay = stay_or_404(session, actor, stay_id)
    rows = list(
        session.exec(select(FailedDischarge).where(FailedDischarge.stay_id == stay.id).order_by(FailedDischarge.id))
    )
    causes = service.causes_for(session, [r.id for r in rows])  # type: ignore[misc]
    return [service.present(r, causes[r.id]) for r in rows]  # type: ignore[index]


@router.patch("/stays/{stay_id}/failed-discharges/{fd_id}", response_model=FailedDischargePublic)
def update_failed_discharge(
    stay_id: PathId,
    fd_id: PathId,
    data: FailedDischargeUpdate,
    session: SessionDep,
    actor: Requires(Perm.LOG_FAILED_DISCHARGE),
    now: Now,
    response: Response,
    if_match: IfMatch = None,
):
    stay = stay_or_404(session, actor, stay_id)
    fd = service.failed_discharge_or_404(session, stay, fd_id)
    service.update_failed_discharge(
        session,
        actor=actor,
        fd=fd,
        stay=stay,
        data=data,
        expected_version=expected_version(if_match, data.version),
        now=now,
    )
    commit(session)
    response.headers.update(etag(fd.version))
    return service.present(fd, service.causes_for(session, [fd.id])[fd.id])  # type: ignore[index, list-item]


@router.get("/failed-discharges", response_model=list[FailedDischargePublic])
def list_failed_discharges(
    session: SessionDep,
    actor: Requires(Perm.READ_WARD),
    ward_id: Annotated[Id | None, Query()] = None,
    date_from: Annotated[IsoDate | None, Query()] = None,
    date_to: Annotated[IsoDate | None, Query()] = None,
    limit: int = Query(default=200, ge=1, le=1000),
):
    """Failed discharges on your wards, newest first, by planned date (Europe/London)."""
    query = select(FailedDischarge).join(Stay, col(Stay.id) == FailedDischarge.stay_id)
    if ward_id is not None:
        query = query.where(Stay.ward_id == ward_id)
    if not actor.site_wide:
        query = query.where(col(Stay.ward_id).in_(actor.ward_ids or {-1}))
    if date_from:
        query = query.where(FailedDischarge.planned_for >= london_start_of_day(date_from))
    if date_to:
        query = query.where(FailedDischarge.planned_for < london_start_of_day(date_to + timedelta(days=1)))
    rows = list(session.exec(query.order_by(col(FailedDischarge.planned_for).desc()).limit(limit)))
    causes = service.causes_for(session, [r.id for r in rows])  # type: ignore[misc]
    return [service.present(r, causes[r.id]) for r in rows]  # type: ignore[index]
