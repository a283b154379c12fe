from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlmodel import Session, col, select

from app.auth.deps import Requires
from app.auth.permissions import Perm
from app.auth.scope import ward_or_404
from app.core.clock import london_date, london_start_of_day
from app.core.concurrency import expected_version
from app.core.errors import Forbidden, NotFound, RuleViolation
from app.core.params import IfMatch, Now, PathId, etag
from app.core.principal import Principal
from app.core.types import IsoDate
from app.db import SessionDep, commit
from app.models import Bed, BedStatePeriod, Site, Ward
from app.wards import bed_states, queries, service
from app.wards.schemas import (
    BedAvailability,
    BedCreate,
    BedPublic,
    BedStateChange,
    BedStatePublic,
    BedTimes,
    BedUpdate,
    BedWithState,
    Board,
    SiteCreate,
    SitePublic,
    SiteUpdate,
    WardBedTimes,
    WardCreate,
    WardPublic,
    WardUpdate,
)
from app.web.idempotency import IdempotentRoute

router = APIRouter(tags=["wards"], route_class=IdempotentRoute)


@router.get("/sites")
def list_sites(session: SessionDep, actor: Requires(Perm.READ_WARD)) -> list[dict]:
    return [
        {"id": s.id, "code": s.code, "name": s.name, "version": s.version}
        for s in session.exec(select(Site).order_by(Site.code))
    ]


@router.post("/sites", response_model=SitePublic, status_code=201)
def create_site(data: SiteCreate, session: SessionDep, actor: Requires(Perm.SETUP_HOSPITAL), now: Now):
    """A hospital site (its ODS code and name): the first step of setting up (docs/setup.md)."""
    site = service.create_site(session, actor=actor, data=data, now=now)
    commit(session)
    return site


@router.patch("/sites/{site_id}", response_model=SitePublic)
def update_site(
    site_id: PathId,
    data: SiteUpdate,
    session: SessionDep,
    actor: Requires(Perm.SETUP_HOSPITAL),
    now: Now,
    response: Response,
    if_match: IfMatch = None,
):
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound("No such site")
    service.update_site(
        session,
        actor=actor,
        site=site,
        changes=data.model_dump(exclude_unset=True, exclude={"version"}),
        expected_version=expected_version(if_match, data.version),
        now=now,
    )
    commit(session)
    response.headers.update(etag(site.version))
    return site


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


def _bed_or_404(session: Session, actor: Principal, bed_id: int) -> Bed:
    bed = session.get(Bed, bed_id)
    if bed is None or not actor.can_access_ward(bed.ward_id):
        raise NotFound("No such bed")
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
    bed = _bed_or_404(session, actor, bed_id)
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


@router.put("/beds/{bed_id}/state", response_model=BedWithState)
def set_bed_state(
    bed_id: PathId,
    data: BedStateChange,
    session: SessionDep,
    actor: Requires(Perm.MANAGE_BED_STATE),
    now: Now,
    response: Response,
    if_match: IfMatch = None,
):
    """Open, close (with `closure_reason_code`), mark awaiting cleaning, or reserve for an
    expected admission (`reserved_for`, `reserved_from`). Closing or cleaning a bed with a patient
    in it is refused (409); a patient arriving in a bed awaiting cleaning or reserved opens it."""
    bed = _bed_or_404(session, actor, bed_id)
    period = bed_states.set_state(
        session,
        actor=actor,
        bed=bed,
        data=data,
        expected_version=expected_version(if_match, data.version),
        now=now,
    )
    commit(session)
    response.headers.update(etag(bed.version))
    return BedWithState(bed=BedPublic.model_validate(bed), state=BedStatePublic.model_validate(period))


@router.get("/beds/{bed_id}/states", response_model=list[BedStatePublic])
def list_bed_states(bed_id: PathId, session: SessionDep, actor: Requires(Perm.READ_WARD)):
    """The bed's state history, newest first: each state, from when, and its details."""
    bed = _bed_or_404(session, actor, bed_id)
    return list(
        session.exec(
            select(BedStatePeriod)
            .where(BedStatePeriod.bed_id == bed.id)
            .order_by(col(BedStatePeriod.started_at).desc(), col(BedStatePeriod.id).desc())
            .limit(200)
        )
    )


MAX_BED_TIMES_DAYS = 92


@router.get("/wards/{ward_id}/bed-times", response_model=WardBedTimes)
def show_bed_times(
    ward_id: PathId,
    session: SessionDep,
    actor: Requires(Perm.READ_WARD),
    date_from: Annotated[IsoDate, Query()],
    date_to: Annotated[IsoDate, Query()],
    now: Now,
):
    """Minutes each bed spent occupied, empty, awaiting cleaning, reserved and closed, from the
    start of `date_from` to the end of `date_to` (Europe/London days, up to 92 days; the part of
    the period still to come is not counted)."""
    ward = ward_or_404(session, actor, ward_id)
    if date_to < date_from:
        raise RuleViolation("The period ends before it starts", field="date_to")
    if (date_to - date_from).days >= MAX_BED_TIMES_DAYS:
        raise RuleViolation(f"Ask for at most {MAX_BED_TIMES_DAYS} days", field="date_to")
    beds = list(session.exec(select(Bed).where(Bed.ward_id == ward.id).order_by(Bed.sort_order, Bed.label)))
    start, end = london_start_of_day(date_from), min(london_start_of_day(date_to + timedelta(days=1)), now)
    minutes = bed_states.times(session, beds, (start, max(start, end)))
    return WardBedTimes(
        ward_id=ward.id,  # type: ignore[arg-type]
        date_from=date_from,
        date_to=date_to,
        beds=[
            BedTimes(
                bed_id=b.id,  # type: ignore[arg-type]
                label=b.label,
                occupied_minutes=minutes[b.id].occupied,  # type: ignore[index]
                empty_minutes=minutes[b.id].empty,  # type: ignore[index]
                cleaning_minutes=minutes[b.id].cleaning,  # type: ignore[index]
                reserved_minutes=minutes[b.id].reserved,  # type: ignore[index]
                closed_minutes=minutes[b.id].closed,  # type: ignore[index]
            )
            for b in beds
        ],
    )


@router.get("/bed-availability", response_model=BedAvailability)
def show_bed_availability(session: SessionDep, actor: Requires(Perm.READ_WARD), now: Now):
    """Per ward you can see (active wards): beds, occupied, available now (open, empty, not reserved
    or awaiting cleaning), awaiting cleaning, reserved, closed, and expected to free today
    (patients with today's expected discharge date whose latest review found no criteria to reside)."""
    query = select(Ward).where(col(Ward.is_active).is_(True)).order_by(Ward.code)
    if not actor.site_wide:
        query = query.where(col(Ward.id).in_(actor.ward_ids or {-1}))
    return queries.bed_availability(session, list(session.exec(query)), london_date(now))
