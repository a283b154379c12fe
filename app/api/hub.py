"""The transfer-of-care hub list as JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.deps import CanReadHub
from app.core.params import Now
from app.db import SessionDep
from app.stays.hub import HubFilters, HubRow, hub_rows

router = APIRouter(prefix="/hub", tags=["hub"])


@router.get("", response_model=list[HubRow])
def hub_list(
    session: SessionDep,
    actor: CanReadHub,
    now: Now,
    service: Annotated[str | None, Query(max_length=40, pattern="^[a-z0-9_]*$")] = None,
    pathway: Annotated[int | None, Query(ge=1, le=3)] = None,
) -> list[HubRow]:
    """Current patients on pathways 1-3 or with an open referral, on every ward (site-wide roles)
    or the user's wards, by initials, age, ward and bed: referrals (status, hours since sent),
    milestones (done, overdue), the next action and its owner. `service`: only patients with a
    referral to that service; `pathway`: one pathway."""
    return hub_rows(session, actor, now, HubFilters(service=service or None, pathway=pathway))
