"""Discharge milestones on the patient page and the round step: the panel (also loaded on its
own by htmx) and its one-tap status buttons."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.auth.deps import CanReadWard, CanWriteClinical
from app.auth.permissions import Perm, allows
from app.auth.scope import stay_or_404
from app.core import codes
from app.core.errors import StaleVersion
from app.core.params import Now, PathId
from app.core.principal import Principal
from app.db import SessionDep
from app.milestones import service
from app.milestones.schemas import MilestoneForm, MilestoneUpdate
from app.models import Stay
from app.reference import labels
from app.web.form_writes import write_form
from app.web.forms import FormData
from app.web.htmx import go_to, is_htmx, vary
from app.web.templating import render
from app.web.urls import path_for

router = APIRouter(include_in_schema=False)


def panel_context(session: Session, actor: Principal, stay: Stay, now: datetime) -> dict:
    """What templates/stays/_milestones.html needs."""
    return {
        "milestone_stay": stay,
        "milestones": [service.present(session, m, now) for m in service.milestones_for_stay(session, stay.id)],
        "milestone_statuses": codes.MILESTONE_STATUSES,
        "milestone_roles": labels(session, "roles"),
        "milestone_can_edit": allows(actor.role, Perm.WRITE_CLINICAL) and stay.discharged_at is None,
    }


def _panel(
    request: Request,
    session: Session,
    actor: Principal,
    stay: Stay,
    now: datetime,
    *,
    message: str = "",
    status: int = 200,
) -> Response:
    context = panel_context(session, actor, stay, now) | {"milestone_message": message}
    return vary(render(request, "stays/_milestones.html", context, status_code=status))


@router.get("/stays/{stay_id}/milestones", name="milestones_panel")
def milestones_panel(request: Request, stay_id: PathId, session: SessionDep, actor: CanReadWard, now: Now) -> Response:
    stay = stay_or_404(session, actor, stay_id)
    return _panel(request, session, actor, stay, now)


@router.post("/stays/{stay_id}/milestones/{milestone_id}", name="set_milestone_status")
def set_milestone_status(
    request: Request,
    stay_id: PathId,
    milestone_id: PathId,
    session: SessionDep,
    actor: CanWriteClinical,
    form: FormData,
    now: Now,
) -> Response:
    stay = stay_or_404(session, actor, stay_id)
    milestone = service.milestone_or_404(session, stay, milestone_id)

    def answer(message: str, status: int) -> Response:
        if is_htmx(request):
            return _panel(request, session, actor, stay, now, message=message, status=status)
        # Without htmx: the panel is part of the patient page.
        return render(
            request,
            "stays/milestones_page.html",
            panel_context(session, actor, stay, now) | {"milestone_message": message},
            status_code=status,
        )

    def stale(_: StaleVersion) -> Response:
        return answer("Someone else changed this milestone: check it and try again", 409)

    return write_form(
        session,
        form,
        MilestoneForm,
        lambda data, drawn_at: service.update_milestone(
            session,
            actor=actor,
            stay=stay,
            milestone=milestone,
            data=MilestoneUpdate(status=data.status),
            expected_version=drawn_at,
            now=now,
        ),
        version="version",
        done=lambda _: (
            answer("Milestone updated", 200)
            if is_htmx(request)
            else go_to(request, path_for(request, "show_patient", stay_id=stay.id) + "#milestones")
        ),
        again=lambda errors, status: answer(next(iter(errors.values()), "Check the milestone"), status),
        stale=stale,
    )
