"""The patient page (outside a round), referrals, actions done, and the discharge-plan sheet."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from sqlmodel import Session

from app.actions.schemas import ActionUpdate
from app.actions.service import action_or_404, update_action
from app.audit import crud
from app.auth.deps import CanReadWard, CanWriteClinical
from app.auth.permissions import Perm, allows
from app.auth.scope import stay_or_404
from app.core.clock import london_date
from app.core.errors import DomainError, NotFound
from app.core.params import Now, PathId
from app.core.principal import Principal
from app.core.types import FormDate, IsoDate, Label, Reason
from app.core.validation import form_version, validate
from app.db import SessionDep, commit
from app.models import Referral, Stay, Ward
from app.reference import labels
from app.rounds import step
from app.rounds.page import form_values, patient_context
from app.views import round_step
from app.web.forms import FormData
from app.web.htmx import vary, wants_fragment
from app.web.templating import render

router = APIRouter(include_in_schema=False)


class ReferralForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    to_service: Label
    sent_on: IsoDate
    decision_on: FormDate = None
    decision: Reason = ""


class DecisionForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    decision_on: FormDate = None
    decision: Reason = ""


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
    context = patient_context(session, stay, now) | {
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
    }
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
    data, errors = validate(ReferralForm, form)
    if data is not None and data.decision_on and data.decision_on < data.sent_on:
        errors = {"decision_on": "The decision cannot be before the referral was sent"}
    if data is None or errors:
        return _page(request, session, actor, stay, now, referral_errors=errors, referral_values=form, status_code=422)
    referral = Referral(
        stay_id=stay.id, created_by_id=actor.user_id, created_at=now, updated_at=now, **data.model_dump()
    )
    crud.create(session, actor=actor, row=referral, now=now, ward_id=stay.ward_id, patient_id=stay.patient_id)
    commit(session)
    return _page(request, session, actor, stay, now, message="Referral added")


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
    referral = session.get(Referral, referral_id)
    if referral is None or referral.stay_id != stay.id:
        raise NotFound("No such referral")
    data, errors = validate(DecisionForm, form)
    if data is not None and data.decision_on and data.decision_on < referral.sent_on:
        errors = {"decision_on": "The decision cannot be before the referral was sent"}
    if data is None or errors:
        # Against this referral's row: its fields' ids end with the referral id.
        return _page(
            request,
            session,
            actor,
            stay,
            now,
            status_code=422,
            referral_errors={f"{k}-{referral.id}": v for k, v in errors.items()},
            referral_values={f"{k}-{referral.id}": form.get(k, "") for k in ("decision_on", "decision")},
        )
    day = data.decision_on
    try:
        crud.update(
            session,
            actor=actor,
            row=referral,
            now=now,
            ward_id=stay.ward_id,
            patient_id=stay.patient_id,
            changes={"decision_on": day, "decision": data.decision},
            expected_version=form_version(form, referral.version),
            present=lambda: {"to_service": referral.to_service, "version": referral.version},
        )
        commit(session)
    except DomainError:
        session.rollback()
        return _page(
            request,
            session,
            actor,
            stay,
            now,
            status_code=409,
            message="Someone else updated this referral: check it and try again",
        )
    return _page(request, session, actor, stay, now, message="Referral updated")


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
    try:
        update_action(
            session,
            actor=actor,
            action=action,
            stay=stay,
            data=ActionUpdate(done=True),
            expected_version=form_version(form, action.version),
            now=now,
        )
        commit(session)
    except DomainError:
        session.rollback()
        return _page(
            request,
            session,
            actor,
            stay,
            now,
            status_code=409,
            message="Someone else changed this action: check it and try again",
        )
    return _page(request, session, actor, stay, now, message="Action marked done")


@router.get("/stays/{stay_id}/plan", name="discharge_plan")
def discharge_plan(request: Request, stay_id: PathId, session: SessionDep, actor: CanReadWard, now: Now) -> Response:
    """A plain-English sheet for the patient and their family or carers."""
    stay = stay_or_404(session, actor, stay_id)
    context = patient_context(session, stay, now) | {
        "ward": session.get(Ward, stay.ward_id),
        "role_labels": labels(session, "roles"),
    }
    return render(request, "stays/plan.html", context)
