"""The patient page (outside a round), referrals, actions done, and the discharge-plan sheet."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.actions.schemas import ActionUpdate
from app.actions.service import action_or_404, update_action
from app.auth.deps import CanReadWard, CanWriteClinical
from app.auth.permissions import Perm, allows
from app.auth.scope import stay_or_404
from app.core.clock import london_date, london_wall_clock
from app.core.errors import DomainError, StaleVersion
from app.core.params import Now, PathId
from app.core.principal import Principal
from app.db import SessionDep, commit
from app.models import Stay, Ward
from app.reference import labels, rows
from app.rounds import step
from app.rounds.queries import form_values, patient_context
from app.stays import referrals
from app.stays.schemas import ReferralForm, ReferralStepForm
from app.views import milestones as milestone_views
from app.views import round_step
from app.web.form_writes import write_form
from app.web.forms import FormData
from app.web.htmx import vary, wants_fragment
from app.web.templating import render

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    session: Session,
    actor: Principal,
    stay: Stay,
    now: datetime,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    conflict: dict | None = None,
    message: str | None = None,
    referral_errors: dict | None = None,
    referral_values: dict | None = None,
    status_code: int = 200,
) -> Response:
    context = (
        patient_context(session, stay, now)
        | {
            "ward": session.get(Ward, stay.ward_id),
            "values": values if values is not None else form_values(session, stay, london_date(now)),
            "errors": errors or {},
            "conflict": conflict,
            "message": message,
            "referral_errors": referral_errors or {},
            "referral_values": referral_values or {},
            "form_action": f"/stays/{stay.id}",
            "submit_text": "Save",
            "target": "patient-main",
            "can_edit": allows(actor.role, Perm.WRITE_CLINICAL) and stay.discharged_at is None,
            "can_raise": allows(actor.role, Perm.RAISE_ESCALATION),
            "can_log_failed": allows(actor.role, Perm.LOG_FAILED_DISCHARGE),
            "role_labels": labels(session, "roles"),
            "family_labels": labels(session, "families"),
            "service_labels": labels(session, "referral_services"),
            "service_visits": {r.code: r.visit_times for r in rows(session, "referral_services") if r.visit_times},
            "referral_is_open": referrals.is_open,
            "now_clock": london_wall_clock(now).strftime("%H:%M"),
        }
        | milestone_views.panel_context(session, actor, stay, now)
    )
    block = "patient_main" if wants_fragment(request, "patient-main") else None
    context["as_fragment"] = block is not None
    return vary(render(request, "stays/show.html", context, block_name=block, status_code=status_code))


@router.get("/stays/{stay_id}", name="show_patient")
def show_patient(request: Request, stay_id: PathId, session: SessionDep, actor: CanReadWard, now: Now) -> Response:
    stay = stay_or_404(session, actor, stay_id)
    return _page(request, session, actor, stay, now)


@router.post("/stays/{stay_id}", name="save_patient")
def save_patient(
    request: Request,
    stay_id: PathId,
    session: SessionDep,
    actor: CanWriteClinical,
    form: FormData,
    now: Now,
) -> Response:
    stay = stay_or_404(session, actor, stay_id)
    submitted = round_step.read_answers(form, now)
    if submitted.request is not None:
        try:
            step.save_step(session, actor=actor, stay=stay, data=submitted.request, now=now)
            commit(session)
        except DomainError as exc:
            submitted = round_step.refused(session, stay, submitted, exc, now)
    if submitted.conflict or submitted.errors:
        return _page(
            request,
            session,
            actor,
            stay,
            now,
            values=submitted.values,
            errors=submitted.errors,
            conflict=submitted.conflict,
            status_code=409 if submitted.conflict else 422,
        )
    return _page(request, session, actor, stay, now, message="Saved")


@router.post("/stays/{stay_id}/referrals", name="add_referral")
def add_referral(
    request: Request,
    stay_id: PathId,
    session: SessionDep,
    actor: CanWriteClinical,
    form: FormData,
    now: Now,
) -> Response:
    stay = stay_or_404(session, actor, stay_id)

    def again(errors: dict[str, str], status: int) -> Response:
        return _page(
            request, session, actor, stay, now, referral_errors=errors, referral_values=form, status_code=status
        )

    return write_form(
        session,
        form,
        ReferralForm,
        lambda data, _: referrals.add_referral(session, actor=actor, stay=stay, data=data.to_create(), now=now),
        done=lambda _: _page(request, session, actor, stay, now, message="Referral added"),
        again=again,
    )


@router.post("/stays/{stay_id}/referrals/{referral_id}", name="record_referral_decision")
def record_referral_decision(
    request: Request,
    stay_id: PathId,
    referral_id: PathId,
    session: SessionDep,
    actor: CanWriteClinical,
    form: FormData,
    now: Now,
) -> Response:
    stay = stay_or_404(session, actor, stay_id)
    referral = referrals.referral_or_404(session, stay, referral_id)
    mine = referral.id

    def again(errors: dict[str, str], status: int) -> Response:
        # Against this referral's row: its fields' ids end with the referral id.
        return _page(
            request,
            session,
            actor,
            stay,
            now,
            status_code=status,
            referral_errors={k if k == "form" else f"{k}-{mine}": v for k, v in errors.items()},
            referral_values={f"{k}-{mine}": form.get(k, "") for k in ("step", "on_date", "at_time", "text")},
        )

    def stale(_: StaleVersion) -> Response:
        message = "Someone else updated this referral: check it and try again"
        return _page(request, session, actor, stay, now, status_code=409, message=message)

    return write_form(
        session,
        form,
        ReferralStepForm,
        lambda data, drawn_at: referrals.update_referral(
            session,
            actor=actor,
            stay=stay,
            referral=referral,
            data=data.to_update(),
            expected_version=drawn_at,
            now=now,
        ),
        fields={
            "responded_at": "on_date",
            "assessed_at": "on_date",
            "decided_at": "on_date",
            "challenge_reason": "text",
        },
        version="version",
        done=lambda _: _page(request, session, actor, stay, now, message="Referral updated"),
        again=again,
        stale=stale,
    )


@router.post("/stays/{stay_id}/actions/{action_id}/done", name="complete_action")
def complete_action(
    request: Request,
    stay_id: PathId,
    action_id: PathId,
    session: SessionDep,
    actor: CanWriteClinical,
    form: FormData,
    now: Now,
) -> Response:
    stay = stay_or_404(session, actor, stay_id)
    action = action_or_404(session, stay, action_id)

    def again(errors: dict[str, str], status: int) -> Response:
        return _page(request, session, actor, stay, now, status_code=status, message=next(iter(errors.values())))

    def stale(_: StaleVersion) -> Response:
        message = "Someone else changed this action: check it and try again"
        return _page(request, session, actor, stay, now, status_code=409, message=message)

    return write_form(
        session,
        form,
        ActionUpdate,
        lambda data, drawn_at: update_action(
            session, actor=actor, action=action, stay=stay, data=data, expected_version=drawn_at, now=now
        ),
        version="version",
        values={"done": True},
        done=lambda _: _page(request, session, actor, stay, now, message="Action marked done"),
        again=again,
        stale=stale,
    )


@router.get("/stays/{stay_id}/plan", name="discharge_plan")
def discharge_plan(request: Request, stay_id: PathId, session: SessionDep, actor: CanReadWard, now: Now) -> Response:
    """A plain-English sheet for the patient and their family or carers."""
    stay = stay_or_404(session, actor, stay_id)
    context = patient_context(session, stay, now) | {
        "ward": session.get(Ward, stay.ward_id),
        "role_labels": labels(session, "roles"),
    }
    return render(request, "stays/plan.html", context)
