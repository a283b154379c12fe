"""The escalation ladder: raise a blocker, and act on it at each level (phone-sized first)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from app.auth.deps import CanActEscalation, CanRaiseEscalation, CanReadWard
from app.auth.permissions import Perm, allows
from app.auth.scope import on_stay_or_404, stay_or_404
from app.core.errors import StaleVersion
from app.core.params import Now, PathId
from app.core.principal import Principal
from app.core.types import Id
from app.db import SessionDep
from app.escalations import queries, service
from app.escalations.forms import RaiseForm
from app.escalations.schemas import EscalationStep
from app.models import Escalation, Stay, Ward
from app.reference import labels, rows
from app.rounds.queries import patient_context
from app.web.form_writes import write_form
from app.web.forms import FormData
from app.web.htmx import go_to, vary, wants_fragment
from app.web.sse import StreamTurn, change_stream, watching
from app.web.templating import render
from app.web.urls import path_for

router = APIRouter(include_in_schema=False)
Status = Annotated[str, Query(max_length=10, pattern="^(open|resolved)$")]
Level = Annotated[int | None, Query(ge=1, le=3)]
WardFilter = Annotated[Id | None, Query()]


def _scoped_wards(session: Session, principal: Principal) -> list[Ward]:
    query = select(Ward).order_by(Ward.code)
    if not principal.site_wide:
        query = query.where(col(Ward.id).in_(principal.ward_ids or {-1}))
    return list(session.exec(query))


def _ladder_context(
    request: Request,
    session: Session,
    actor: Principal,
    now: datetime,
    status: str,
    level: int | None,
    ward: int | None,
) -> dict:
    items = queries.ladder(session, actor, now, resolved=status == "resolved", level=level, ward_id=ward)
    return {
        "items": items,
        "status": status,
        "level": level,
        "ward": ward,
        "levels": queries.levels(session),
        "wards": _scoped_wards(session, actor),
        "family_labels": labels(session, "families"),
        "now": now,
        "query": request.url.query,
    }


@router.get("/escalations", name="escalation_ladder")
def show_ladder(
    request: Request,
    session: SessionDep,
    actor: CanReadWard,
    now: Now,
    status: Status = "open",
    level: Level = None,
    ward: WardFilter = None,
) -> Response:
    context = _ladder_context(request, session, actor, now, status, level, ward)
    block = "ladder_items" if wants_fragment(request, "ladder-items") else None
    return vary(render(request, "escalations/ladder.html", context, block_name=block))


@router.get("/escalations/items", name="escalation_items")
def ladder_items(
    request: Request,
    session: SessionDep,
    actor: CanReadWard,
    now: Now,
    status: Status = "open",
    level: Level = None,
    ward: WardFilter = None,
) -> Response:
    """The list alone, re-fetched when something changes on a ward in scope."""
    context = _ladder_context(request, session, actor, now, status, level, ward)
    return render(request, "escalations/ladder.html", context, block_name="ladder_items")


@router.get("/escalations/events", name="escalation_events", dependencies=[StreamTurn])
async def escalation_events(request: Request, session: SessionDep, actor: CanReadWard) -> Response:
    wards = await run_in_threadpool(_scoped_wards, session, actor)
    await watching(request, session)
    return change_stream(request, [w.id for w in wards], "escalations-changed")


def _detail(
    request: Request,
    session: Session,
    actor: Principal,
    esc: Escalation,
    stay: Stay,
    now: datetime,
    *,
    errors: dict | None = None,
    values: dict | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    page = queries.escalation_page(session, actor, esc, stay, now)
    context = {
        "page": page,
        "item": page.item,
        "errors": errors or {},
        "values": values or {},
        "message": message,
        "family_labels": labels(session, "families"),
        "delay_labels": labels(session, "delay_reasons"),
        "can_act_perm": allows(actor.role, Perm.ACT_ESCALATION),
        "now": now,
    }
    block = "escalation_main" if wants_fragment(request, "escalation-main") else None
    return vary(render(request, "escalations/show.html", context, block_name=block, status_code=status_code))


@router.get("/escalations/{esc_id}", name="show_escalation")
def show_escalation(request: Request, esc_id: PathId, session: SessionDep, actor: CanReadWard, now: Now) -> Response:
    esc, stay = on_stay_or_404(session, actor, Escalation, esc_id, "escalation")
    return _detail(request, session, actor, esc, stay, now)


DONE = {
    "acknowledge": "Acknowledged",
    "note": "Note added",
    "escalate": "Escalated to the next level",
    "resolve": "Resolved",
}


@router.post("/escalations/{esc_id}", name="act_on_escalation")
def act_on_escalation(
    request: Request,
    esc_id: PathId,
    session: SessionDep,
    actor: CanActEscalation,
    form: FormData,
    now: Now,
) -> Response:
    esc, stay = on_stay_or_404(session, actor, Escalation, esc_id, "escalation")
    values = {"note": str(form.get("note", ""))[:1000]}

    def again(errors: dict[str, str], status: int) -> Response:
        # One box on this form: every message sits by it.
        note = {"note": next(iter(errors.values()))}
        return _detail(request, session, actor, esc, stay, now, errors=note, values=values, status_code=status)

    def stale(_: StaleVersion) -> Response:
        message = (
            "Someone else acted on this escalation while you were reading it. Check the timeline below, then try again."
        )
        return _detail(
            request, session, actor, esc, stay, now, values=values, errors={"note": message}, status_code=409
        )

    return write_form(
        session,
        form,
        EscalationStep,
        lambda step, drawn_at: service.step_escalation(
            session, actor=actor, esc=esc, stay=stay, step=step, expected_version=drawn_at, now=now
        ),
        version="version",
        values={"action": form.get("action"), "note": values["note"]},
        done=lambda _: _detail(request, session, actor, esc, stay, now, message=DONE[str(form.get("action"))]),
        again=again,
        stale=stale,
    )


@router.get("/stays/{stay_id}/escalations/new", name="new_escalation")
def new_escalation(
    request: Request, stay_id: PathId, session: SessionDep, actor: CanRaiseEscalation, now: Now
) -> Response:
    stay = stay_or_404(session, actor, stay_id)
    return render(
        request,
        "escalations/new.html",
        patient_context(session, stay, now)
        | {"values": {}, "errors": {}, "families": rows(session, "families"), "ward": session.get(Ward, stay.ward_id)},
    )


@router.post("/stays/{stay_id}/escalations/new", name="create_escalation")
def raise_escalation(
    request: Request,
    stay_id: PathId,
    session: SessionDep,
    actor: CanRaiseEscalation,
    form: FormData,
    now: Now,
) -> Response:
    stay = stay_or_404(session, actor, stay_id)

    def again(errors: dict[str, str], status: int) -> Response:
        context = patient_context(session, stay, now) | {
            "values": form,
            "errors": errors,
            "families": rows(session, "families"),
            "ward": session.get(Ward, stay.ward_id),
        }
        return render(request, "escalations/new.html", context, status_code=status)

    def done(esc: Escalation) -> Response:
        return go_to(request, path_for(request, "show_escalation", esc_id=esc.id), message="Escalated")

    return write_form(
        session,
        form,
        RaiseForm,
        lambda data, _: service.raise_escalation(session, actor=actor, stay=stay, now=now, data=data.to_create()),
        done=done,
        again=again,
    )
