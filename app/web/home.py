"""The start page: the wards this person can open."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import col, select

from app.auth.deps import Requires
from app.auth.permissions import Perm
from app.db import SessionDep
from app.models import Ward
from app.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", name="home")
def show_home(request: Request, session: SessionDep, actor: Requires(Perm.READ_WARD)) -> Response:
    query = select(Ward).where(Ward.is_active).order_by(Ward.code)
    if not actor.site_wide:
        query = query.where(col(Ward.id).in_(actor.ward_ids or {-1}))
    wards = list(session.exec(query))
    return render(request, "home.html", {"wards": wards})
