"""Reference lists, read-only over the API (codes and labels for clients' pickers)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from sqlmodel import select

from app.auth.deps import CurrentPrincipal
from app.db import SessionDep
from app.models import REFERENCE_LISTS
from app.web.idempotency import IdempotentRoute

router = APIRouter(prefix="/reference", tags=["reference"], route_class=IdempotentRoute)

LISTS = {entry.path: entry.model for entry in REFERENCE_LISTS.values()}


@router.get("/{name}")
def reference_list(
    # A Literal of the registry's paths: OpenAPI lists them and another name is a 422. Built from
    # the registry at import, which a static type checker cannot follow.
    name: Literal[tuple(LISTS)],  # type: ignore[valid-type]
    session: SessionDep,
    _: CurrentPrincipal,
) -> list[dict]:
    model = LISTS[name]
    return [row.model_dump() for row in session.exec(select(model).order_by(model.sort_order))]
