"""The escalation ladder: raise a blocker, and act on it at each level (phone-sized first)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from app.auth.deps import CanActEscalation, CanRaiseEscalation, CanReadWard
from app.auth.permissions import Perm, allows
from app.auth.scope import on_stay_or_404, stay_or_404
from app.core.clock import LONDON
from app.core.errors import DomainError, StaleVersion
from app.core.params import Now, PathId
from app.core.principal import Principal
from app.core.types import Code, FormDate, Id, RequiredText
from app.core.validation import validate
from app.db import SessionDep, commit
from app.escalations import queries, service
from app.escalations.schemas import EscalationCreate, EscalationStep
from app.models import Escalation, Stay, Ward
from app.reference import labels, rows
from app.rounds.page import patient_context
from app.web.forms import FormData
from app.web.htmx import go_to, vary, wants_fragment
from app.web.sse import StreamTurn, change_stream, watching
from app.web.templating import render

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
    data, errors = validate(
        EscalationStep, {"action": form.get("action"), "note": values["note"], "version": form.get("version") or None}
    )
    if data is None:
        return _detail(
            request,
            session,
            actor,
            esc,
            stay,
            now,
            errors={"note": next(iter(errors.values()))},
            values=values,
            status_code=422,
        )
    try:
        service.step_escalation(
            session, actor=actor, esc=esc, stay=stay, step=data, expected_version=data.version or esc.version, now=now
        )
        commit(session)
    except StaleVersion:
        session.rollback()
        session.refresh(esc)
        return _detail(
            request,
            session,
            actor,
            esc,
            stay,
            now,
            values=values,
            status_code=409,
            errors={
                "note": "Someone else acted on this escalation while you were reading it. "
                "Check the timeline below, then try again."
            },
        )
    except DomainError as exc:
        session.rollback()
        if exc.status_code == 403:
            raise
        return _detail(
            request,
            session,
            actor,
            esc,
            stay,
            now,
            values=values,
            errors={"note": exc.message},
            status_code=exc.status_code if exc.status_code in (409, 422) else 422,
        )
    done = {
        "acknowledge": "Acknowledged",
        "note": "Note added",
        "escalate": "Escalated to the next level",
        "resolve": "Resolved",
    }[data.action]
    return _detail(request, session, actor, esc, stay, now, message=done)


class RaiseForm(BaseModel):
    """The raise form: the API's EscalationCreate fields as a page sends them."""

    model_config = ConfigDict(extra="ignore")

    category_code: Code
    help_needed: RequiredText
    needed_by: FormDate = None  # a London date: needed by 17:00 that day


def _raise_errors(errors: dict[str, str], form: dict) -> dict[str, str]:
    """Plain messages for the two questions: which kind of blocker, and (when blank) what help."""
    messages = dict(errors)
    if "category_code" in messages:
        messages["category_code"] = "Choose what kind of blocker this is"
    if "help_needed" in messages and not str(form.get("help_needed") or "").strip():
        messages["help_needed"] = "Describe the help needed"
    return messages


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
    data, errors = validate(RaiseForm, form)
    errors = _raise_errors(errors, form)
    if data is not None:
        needed_by = datetime.combine(data.needed_by, time(17, 0), tzinfo=LONDON) if data.needed_by else None
        try:
            esc = service.raise_escalation(
                session,
                actor=actor,
                stay=stay,
                now=now,
                data=EscalationCreate(
                    category_code=data.category_code, help_needed=data.help_needed, needed_by=needed_by
                ),
            )
            commit(session)
            return go_to(request, f"/escalations/{esc.id}", message="Escalated")
        except DomainError as exc:
            session.rollback()
            errors = {exc.field or "help_needed": exc.message}
    return render(
        request,
        "escalations/new.html",
        patient_context(session, stay, now)
        | {
            "values": form,
            "errors": errors,
            "families": rows(session, "families"),
            "ward": session.get(Ward, stay.ward_id),
        },
        status_code=422,
    )
