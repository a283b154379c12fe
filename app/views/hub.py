"""The transfer-of-care hub list: one live list across wards (docs/referrals.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.auth.deps import CanReadHub
from app.core.params import Now
from app.core.principal import Principal
from app.db import SessionDep
from app.reference import labels
from app.stays.hub import HubFilters, hub_rows, hub_ward_ids
from app.web.htmx import vary
from app.web.sse import StreamTurn, change_stream, watching
from app.web.templating import render

router = APIRouter(include_in_schema=False)

ServiceFilter = Annotated[str | None, Query(max_length=40, pattern="^[a-z0-9_]*$")]
PathwayFilter = Annotated[int | None, Query(ge=1, le=3)]


def _context(session: Session, actor: Principal, now: datetime, service: str | None, pathway: int | None) -> dict:
    filters = HubFilters(service=service or None, pathway=pathway)
    query = {k: v for k, v in (("service", filters.service), ("pathway", filters.pathway)) if v is not None}
    return {
        "rows": hub_rows(session, actor, now, filters),
        "services": labels(session, "referral_services"),
        "role_labels": labels(session, "roles"),
        "service": filters.service,
        "pathway": filters.pathway,
        "query": query,
        "now": now,
    }


@router.get("/hub", name="hub")
def hub(
    request: Request,
    session: SessionDep,
    actor: CanReadHub,
    now: Now,
    service: ServiceFilter = None,
    pathway: PathwayFilter = None,
) -> Response:
    return vary(render(request, "hub/hub.html", _context(session, actor, now, service, pathway)))


@router.get("/hub/items", name="hub_items")
def hub_items(
    request: Request,
    session: SessionDep,
    actor: CanReadHub,
    now: Now,
    service: ServiceFilter = None,
    pathway: PathwayFilter = None,
) -> Response:
    """The list alone, re-fetched when something changes on a ward in scope."""
    context = _context(session, actor, now, service, pathway)
    return render(request, "hub/hub.html", context, block_name="hub_items")


@router.get("/hub/events", name="hub_events", dependencies=[StreamTurn])
async def hub_events(request: Request, session: SessionDep, actor: CanReadHub) -> Response:
    wards = await run_in_threadpool(hub_ward_ids, session, actor)
    await watching(request, session)
    return change_stream(request, wards, "hub-changed")
