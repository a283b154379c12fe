from __future__ import annotations

from fastapi import APIRouter, Response
from sqlmodel import col, select

from app.auth.deps import Requires
from app.auth.permissions import Perm
from app.auth.scope import ward_or_404
from app.core.clock import london_date
from app.core.concurrency import expected_version
from app.core.errors import Forbidden, NotFound
from app.core.params import IfMatch, Now, PathId, etag
from app.db import SessionDep, commit
from app.models import Bed, Site, Ward
from app.wards import queries, service
from app.wards.schemas import (
    BedCreate,
    BedPublic,
    BedUpdate,
    Board,
    WardCreate,
    WardPublic,
    WardUpdate,
)
from app.web.idempotency import IdempotentRoute

router = APIRouter(tags=["wards"], route_class=IdempotentRoute)


@router.get("/sites")
def list_sites(session: SessionDep, actor: Requires(Perm.READ_WARD)) -> list[dict]:
    return [{"id": s.id, "code": s.code, "name": s.name} for s in session.exec(select(Site).order_by(Site.code))]


@router.get("/wards", response_model=list[WardPublic])
def list_wards(session: SessionDep, actor: Requires(Perm.READ_WARD)):
    """Wards you can see: your assigned wards, or every ward for site-wide roles."""
    query = select(Ward).order_by(Ward.code)
    if not actor.site_wide:
        query = query.where(col(Ward.id).in_(actor.ward_ids or {-1}))
    return list(session.exec(query))


@router.post("/wards", response_model=WardPublic, status_code=201)
def create_ward(data: WardCreate, session: SessionDep, actor: Requires(Perm.MANAGE_WARD), now: Now):
    if not actor.site_wide:
        raise Forbidden("Only site-wide roles create wards")
    ward = service.create_ward(session, actor=actor, data=data, now=now)
    commit(session)
    return ward


@router.get("/wards/{ward_id}", response_model=WardPublic)
def get_ward(ward_id: PathId, session: SessionDep, actor: Requires(Perm.READ_WARD), response: Response):
    ward = ward_or_404(session, actor, ward_id)
    response.headers.update(etag(ward.version))
    return ward


@router.patch("/wards/{ward_id}", response_model=WardPublic)
def update_ward(
    ward_id: PathId,
    data: WardUpdate,
    session: SessionDep,
    actor: Requires(Perm.MANAGE_WARD),
    now: Now,
    response: Response,
    if_match: IfMatch = None,
):
    ward = ward_or_404(session, actor, ward_id)
    service.update_ward(
        session,
        actor=actor,
        ward=ward,
        changes=data.model_dump(exclude_unset=True, exclude={"version"}),
        expected_version=expected_version(if_match, data.version),
        now=now,
    )
    commit(session)
    response.headers.update(etag(ward.version))
    return ward


@router.get("/wards/{ward_id}/board", response_model=Board)
def show_board(ward_id: PathId, session: SessionDep, actor: Requires(Perm.READ_WARD), now: Now):
    """Every bed in order with its current stay, today's review, LOS, EDD and flags."""
    ward = ward_or_404(session, actor, ward_id)
    return queries.ward_board(session, ward, london_date(now))


@router.get("/wards/{ward_id}/beds", response_model=list[BedPublic])
def list_beds(ward_id: PathId, session: SessionDep, actor: Requires(Perm.READ_WARD)):
    ward = ward_or_404(session, actor, ward_id)
    return list(session.exec(select(Bed).where(Bed.ward_id == ward.id).order_by(Bed.sort_order, Bed.label)))


@router.post("/wards/{ward_id}/beds", response_model=BedPublic, status_code=201)
def add_bed(ward_id: PathId, data: BedCreate, session: SessionDep, actor: Requires(Perm.MANAGE_WARD), now: Now):
    ward = ward_or_404(session, actor, ward_id)
    bed = service.add_bed(session, actor=actor, ward=ward, data=data, now=now)
    commit(session)
    return bed


@router.patch("/beds/{bed_id}", response_model=BedPublic)
def update_bed(
    bed_id: PathId,
    data: BedUpdate,
    session: SessionDep,
    actor: Requires(Perm.MANAGE_WARD),
    now: Now,
    response: Response,
    if_match: IfMatch = None,
):
    bed = session.get(Bed, bed_id)
    if bed is None or not actor.can_access_ward(bed.ward_id):
        raise NotFound("No such bed")
    service.update_bed(
        session,
        actor=actor,
        bed=bed,
        changes=data.model_dump(exclude_unset=True, exclude={"version"}),
        expected_version=expected_version(if_match, data.version),
        now=now,
    )
    commit(session)
    response.headers.update(etag(bed.version))
    return bed
