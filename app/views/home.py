"""The start page: the wards this person can open."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from app.auth.deps import Requires
from app.auth.permissions import Perm
from app.db import SessionDep
from app.models import Ward
from app.views.wards import WARD_COOKIE
from app.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", name="home")
def show_home(request: Request, session: SessionDep, actor: Requires(Perm.READ_WARD), choose: bool = False) -> Response:
    query = select(Ward).where(Ward.is_active).order_by(Ward.code)
    if not actor.site_wide:
        query = query.where(col(Ward.id).in_(actor.ward_ids or {-1}))
    wards = list(session.exec(query))
    remembered = request.cookies.get(WARD_COOKIE)
    if not choose and remembered and any(w.code == remembered for w in wards):
        return RedirectResponse(f"/wards/{remembered}", status_code=303)
    if not choose and len(wards) == 1:
        return RedirectResponse(f"/wards/{wards[0].code}", status_code=303)
    return render(request, "home.html", {"wards": wards})
