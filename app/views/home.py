"""The start page: what needs this person now (their alerts, escalations at their rung), and the
wards they can open."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from app.alerts import service as alerts
from app.auth.deps import CanReadWard
from app.auth.permissions import Perm, allows
from app.core.params import Now
from app.core.principal import Principal
from app.db import SessionDep
from app.escalations import queries as escalations
from app.escalations.ladder import ROLE_LEVEL
from app.models import Ward
from app.views.wards import WARD_COOKIE
from app.web.templating import render

router = APIRouter(include_in_schema=False)
SHOWN_ALERTS = 5


def _needs_you(session: Session, actor: Principal, now: datetime) -> dict:
    needs: dict = {"alerts": [], "unread": 0, "escalations": None}
    if allows(actor.role, Perm.RECEIVE_ALERTS):
        needs["unread"] = alerts.unread_count(session, actor.user_id)
        needs["alerts"] = [a for a in alerts.inbox(session, actor.user_id, limit=SHOWN_ALERTS) if a.read_at is None]
    rung = ROLE_LEVEL.get(actor.role)
    if rung is not None and allows(actor.role, Perm.ACT_ESCALATION):
        items = escalations.ladder(session, actor, now, level=rung)
        needs["escalations"] = {
            "level": rung,
            "open": len(items),
            "overdue": sum(1 for i in items if i.timing.breached),
        }
    return needs


@router.get("/", name="home")
def show_home(request: Request, session: SessionDep, actor: CanReadWard, now: Now, choose: bool = False) -> Response:
    query = select(Ward).where(Ward.is_active).order_by(Ward.code)
    if not actor.site_wide:
        query = query.where(col(Ward.id).in_(actor.ward_ids or {-1}))
    wards = list(session.exec(query))
    remembered = request.cookies.get(WARD_COOKIE)
    if not choose and remembered and any(w.code == remembered for w in wards):
        return RedirectResponse(f"/wards/{remembered}", status_code=303)
    if not choose and len(wards) == 1:
        return RedirectResponse(f"/wards/{wards[0].code}", status_code=303)
    return render(request, "home.html", {"wards": wards, "needs": _needs_you(session, actor, now)})
