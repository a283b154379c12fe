"""The midday board round on a tablet: start, step through patients, end, hand over."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from app.actions.schemas import ActionUpdate
from app.actions.service import action_or_404, update_action
from app.auth.deps import CanReadWard, CanRunRound, CanWriteClinical
from app.auth.scope import ward_by_code_or_404
from app.core.clock import london_date
from app.core.errors import DomainError
from app.core.params import Now, PathCode, PathId
from app.core.principal import Principal
from app.core.validation import as_list
from app.db import SessionDep, commit
from app.models import Action, BoardRound, DailyReview, EddChange, Escalation, Stay, Ward
from app.reference import labels, rows
from app.rounds import service, step
from app.rounds.queries import form_values, patient_context, step_extras
from app.rounds.schemas import RoundEnd, RoundStart
from app.views import round_step
from app.wards import presenters
from app.wards.queries import ward_board
from app.web.form_writes import write_form
from app.web.forms import FormData
from app.web.htmx import go_to, vary, wants_fragment
from app.web.templating import render
from app.web.urls import path_for

router = APIRouter(include_in_schema=False)
ATTENDEE_ROLES = ("nurse", "doctor", "therapist", "social_worker", "flow_coordinator", "pharmacist", "ward_manager")


@router.get("/wards/{code}/rounds/new", name="new_round")
def new_round(
    request: Request, code: PathCode, session: SessionDep, actor: CanRunRound, now: Now, again: bool = False
) -> Response:
    ward = ward_by_code_or_404(session, actor, code)
    existing = service.open_round(session, ward.id)
    if existing is not None:
        return RedirectResponse(path_for(request, "continue_round", round_id=existing.id), status_code=303)
    ended = service.ended_today(session, ward.id, now)
    if ended is not None and not again:
        # Today's round is over: its summary (which offers another round), not a fresh start.
        return RedirectResponse(path_for(request, "round_overview", round_id=ended.id), status_code=303)
    roles = [r for r in rows(session, "roles") if r.code in ATTENDEE_ROLES]
    return render(
        request, "rounds/new.html", {"ward": ward, "roles": roles, "errors": {}, "values": {"roles": [actor.role]}}
    )


@router.post("/wards/{code}/rounds/new", name="begin_round")
def start_round(
    request: Request, code: PathCode, session: SessionDep, actor: CanRunRound, form: FormData, now: Now
) -> Response:
    ward = ward_by_code_or_404(session, actor, code)
    roles = [r for r in as_list(form.get("roles")) if r in ATTENDEE_ROLES]  # the page's roles; others are ignored

    def again(errors: dict[str, str], status: int) -> Response:
        existing = service.open_round(session, ward.id)
        if existing is not None:  # started on another device meanwhile: join it
            return go_to(request, path_for(request, "round_overview", round_id=existing.id))
        choices = [r for r in rows(session, "roles") if r.code in ATTENDEE_ROLES]
        context = {"ward": ward, "roles": choices, "errors": errors, "values": {"roles": roles}}
        return render(request, "rounds/new.html", context, status_code=status)

    def done(board_round: BoardRound) -> Response:
        order = step.round_order(session, board_round)
        if not order:
            return go_to(request, path_for(request, "round_overview", round_id=board_round.id))
        return go_to(request, path_for(request, "round_step", round_id=board_round.id, stay_id=order[0]))

    return write_form(
        session,
        form,
        RoundStart,
        lambda data, _: service.start_round(session, actor=actor, ward=ward, data=data, now=now),
        values={"attendees": [{"role_code": r} for r in roles]},
        done=done,
        again=again,
    )


def _progress(session: Session, board_round: BoardRound, stay_id: int | None, now: datetime) -> dict[str, Any]:
    order = step.round_order(session, board_round)
    done = step.entries(session, board_round)
    index = order.index(stay_id) if stay_id in order else -1
    finished = [e for e in done.values() if e.outcome != "skipped"]
    end = board_round.ended_at or now
    return {
        "order": order,
        "entries": done,
        "index": index,
        "total": len(order),
        "done_count": len(finished),
        "skipped": [s for s in order if s in done and done[s].outcome == "skipped"],
        "prev_id": order[index - 1] if index > 0 else None,
        "next_id": order[index + 1] if 0 <= index < len(order) - 1 else None,
        "elapsed_seconds": int((end - board_round.started_at).total_seconds()),
        "average_seconds": int(sum(e.seconds for e in finished) / len(finished)) if finished else None,
    }


def _next_url(board_round: BoardRound, progress: dict[str, Any], stay_id: int) -> str:
    """Next patient not yet done; then any skipped; then the round overview."""
    order, done = progress["order"], progress["entries"]
    index = order.index(stay_id) if stay_id in order else -1
    for candidate in order[index + 1 :] + order[: max(index, 0)]:
        if candidate not in done or done[candidate].outcome == "skipped":
            if candidate != stay_id:
                return f"/rounds/{board_round.id}/stays/{candidate}"
    return f"/rounds/{board_round.id}"


def _go_next(
    request: Request, board_round: BoardRound, progress: dict[str, Any], stay_id: int, message: str
) -> Response:
    """To the next patient's screen (swapped in place), or to the overview (a whole new page)."""
    url = _next_url(board_round, progress, stay_id)
    target = "round-step" if "/stays/" in url else None
    return go_to(request, url, target=target, message=message)


def _round_and_stay(session: Session, actor: Principal, round_id: int, stay_id: int) -> tuple[BoardRound, Stay, Ward]:
    board_round, stay = step.target(session, actor, round_id, stay_id)
    ward = session.get_one(Ward, board_round.ward_id)
    return board_round, stay, ward


def _step_page(
    request: Request,
    session: Session,
    board_round: BoardRound,
    stay: Stay,
    ward: Ward,
    now: datetime,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    conflict: dict | None = None,
    status_code: int = 200,
    message: str | None = None,
    action_errors: dict[int, str] | None = None,
) -> Response:
    context = (
        patient_context(session, stay, now)
        | step_extras(session, stay, now)
        | {
            "round": board_round,
            "ward": ward,
            "now": now,
            "progress": _progress(session, board_round, stay.id, now),
            "values": values if values is not None else form_values(session, stay, london_date(now)),
            "errors": errors or {},
            "conflict": conflict,
            "form_action": f"/rounds/{board_round.id}/stays/{stay.id}",
            "submit_text": "Save and next patient",
            "target": "round-step",
            "message": message,
            "action_errors": action_errors or {},
        }
    )
    if wants_fragment(request, "round-step"):
        context["as_fragment"] = True
        return vary(render(request, "rounds/step.html", context, block_name="round_step", status_code=status_code))
    return vary(render(request, "rounds/step.html", context, status_code=status_code))


@router.get("/rounds/{round_id}/stays/{stay_id}", name="round_step")
def show_step(
    request: Request, round_id: PathId, stay_id: PathId, session: SessionDep, actor: CanReadWard, now: Now
) -> Response:
    board_round, stay, ward = _round_and_stay(session, actor, round_id, stay_id)
    if stay.discharged_at is not None:
        return RedirectResponse(f"/rounds/{board_round.id}", status_code=303)
    return _step_page(request, session, board_round, stay, ward, now)


@router.post("/rounds/{round_id}/stays/{stay_id}", name="save_round_step")
def save_step(
    request: Request,
    round_id: PathId,
    stay_id: PathId,
    session: SessionDep,
    actor: CanWriteClinical,
    form: FormData,
    now: Now,
) -> Response:
    return _save(request, session, actor, round_id, stay_id, round_step.read_answers(form, now), now, "Saved")


@router.post("/rounds/{round_id}/stays/{stay_id}/no-change", name="confirm_no_change")
def confirm_no_change(
    request: Request,
    round_id: PathId,
    stay_id: PathId,
    session: SessionDep,
    actor: CanWriteClinical,
    form: FormData,
    now: Now,
) -> Response:
    submitted = round_step.read_no_change(form)
    return _save(request, session, actor, round_id, stay_id, submitted, now, "Confirmed: no change")


def _save(
    request: Request,
    session: Session,
    actor: Principal,
    round_id: int,
    stay_id: int,
    submitted: round_step.StepForm,
    now: datetime,
    message: str,
) -> Response:
    """Save one patient's step through the round-step service, commit once, then the next patient."""
    board_round, stay, ward = _round_and_stay(session, actor, round_id, stay_id)
    if submitted.request is not None:
        try:
            step.save_step(session, actor=actor, stay=stay, data=submitted.request, now=now, board_round=board_round)
            commit(session)
        except DomainError as exc:
            submitted = round_step.refused(session, stay, submitted, exc, now)
    if submitted.conflict or submitted.errors:
        # "No change" has nothing typed to keep: its page is drawn afresh.
        return _step_page(
            request,
            session,
            board_round,
            stay,
            ward,
            now,
            values=submitted.values or None,
            errors=submitted.errors,
            conflict=submitted.conflict,
            status_code=409 if submitted.conflict else 422,
        )
    progress = _progress(session, board_round, stay.id, now)
    return _go_next(request, board_round, progress, stay.id, message)


@router.post("/rounds/{round_id}/stays/{stay_id}/actions/{action_id}", name="update_round_action")
def update_round_action(
    request: Request,
    round_id: PathId,
    stay_id: PathId,
    action_id: PathId,
    session: SessionDep,
    actor: CanWriteClinical,
    form: FormData,
    now: Now,
) -> Response:
    """An open action on the round step: mark it done, or move when it is due (the same service
    and version check as the patient page and the API). The step is drawn again in place."""
    board_round, stay, ward = _round_and_stay(session, actor, round_id, stay_id)
    action = action_or_404(session, stay, action_id)
    done = form.get("done") == "1"
    values = {"done": True} if done else {"due_at": round_step.due_moment(form)}

    def again(errors: dict[str, str], status: int) -> Response:
        message = next(iter(errors.values()))
        return _step_page(
            request, session, board_round, stay, ward, now, status_code=status, action_errors={action.id: message}
        )

    return write_form(
        session,
        form,
        ActionUpdate,
        lambda data, drawn_at: update_action(
            session, actor=actor, action=action, stay=stay, data=data, expected_version=drawn_at, now=now
        ),
        version="version",
        values=values,
        fields={"due_at": "due"},
        done=lambda _: _step_page(
            request,
            session,
            board_round,
            stay,
            ward,
            now,
            message="Action marked done" if done else "Action due time changed",
        ),
        again=again,
        stale=lambda _: again({"form": "Someone else changed this action: check it and try again"}, 409),
    )


@router.get("/rounds/{round_id}/continue", name="continue_round")
def continue_round(request: Request, round_id: PathId, session: SessionDep, actor: CanReadWard, now: Now) -> Response:
    """ "Continue board round": the next patient not yet seen (then any skipped), else the overview."""
    board_round = service.round_or_404(session, actor, round_id)
    progress = _progress(session, board_round, None, now)
    return RedirectResponse(_next_url(board_round, progress, -1), status_code=303)


@router.post("/rounds/{round_id}/stays/{stay_id}/skip", name="skip_patient")
def skip_patient(
    request: Request, round_id: PathId, stay_id: PathId, session: SessionDep, actor: CanRunRound, now: Now
) -> Response:
    board_round, stay, _ = _round_and_stay(session, actor, round_id, stay_id)
    step.skip(session, actor=actor, stay=stay, board_round=board_round, now=now)
    commit(session)
    progress = _progress(session, board_round, stay.id, now)
    return _go_next(request, board_round, progress, stay.id, "Skipped: come back later")


def round_summary(session: Session, board_round: BoardRound, now: datetime) -> dict[str, Any]:
    end = board_round.ended_at or now
    order = step.round_order(session, board_round)
    done = step.entries(session, board_round)
    stay_ids = list(set(order) | set(done))
    window = (col(EddChange.changed_at) >= board_round.started_at) & (col(EddChange.changed_at) <= end)
    edd_changes = session.exec(select(EddChange).where(col(EddChange.stay_id).in_(stay_ids or [-1]), window)).all()
    actions = session.exec(select(Action).where(Action.board_round_id == board_round.id)).all()
    escalations = session.exec(
        select(Escalation).where(
            col(Escalation.stay_id).in_(stay_ids or [-1]),
            col(Escalation.raised_at) >= board_round.started_at,
            col(Escalation.raised_at) <= end,
        )
    ).all()
    reviews = session.exec(
        select(DailyReview).where(
            col(DailyReview.stay_id).in_(stay_ids or [-1]),
            DailyReview.review_date == london_date(board_round.started_at),
        )
    ).all()
    return {
        "reviewed": sum(1 for e in done.values() if e.outcome == "reviewed"),
        "no_change": sum(1 for e in done.values() if e.outcome == "no_change"),
        "skipped": sum(1 for e in done.values() if e.outcome == "skipped"),
        "not_seen": sum(1 for s in order if s not in done),
        "nctr": sum(1 for r in reviews if not r.meets_criteria_to_reside),
        "edd_changes": len([c for c in edd_changes if c.old_date is not None]),
        "actions": len(actions),
        "escalations": len(escalations),
        "duration_seconds": int((end - board_round.started_at).total_seconds()),
    }


@router.get("/rounds/{round_id}", name="round_overview")
def show_round(request: Request, round_id: PathId, session: SessionDep, actor: CanReadWard, now: Now) -> Response:
    return _overview(request, session, service.round_or_404(session, actor, round_id), now)


def _overview(
    request: Request,
    session: Session,
    board_round: BoardRound,
    now: datetime,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    ward = session.get_one(Ward, board_round.ward_id)
    board = ward_board(session, ward, london_date(now))
    return render(
        request,
        "rounds/overview.html",
        {
            "round": board_round,
            "ward": ward,
            "board": board,
            "progress": _progress(session, board_round, None, now),
            "summary": round_summary(session, board_round, now),
            "attendees": service.attendees_for(session, board_round.id),
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.post("/rounds/{round_id}/end", name="finish_round")
def end_round(
    request: Request, round_id: PathId, session: SessionDep, actor: CanRunRound, form: FormData, now: Now
) -> Response:
    board_round = service.round_or_404(session, actor, round_id)
    overview = path_for(request, "round_overview", round_id=board_round.id)
    return write_form(
        session,
        form,
        RoundEnd,
        lambda _data, drawn_at: service.end_round(
            session, actor=actor, board_round=board_round, expected_version=drawn_at, now=now
        ),
        version="version",
        done=lambda _: go_to(request, overview),
        again=lambda errors, status: _overview(request, session, board_round, now, errors=errors, status_code=status),
    )


@router.get("/rounds/{round_id}/handover", name="round_handover")
def handover(request: Request, round_id: PathId, session: SessionDep, actor: CanReadWard, now: Now) -> Response:
    board_round = service.round_or_404(session, actor, round_id)
    ward = session.get_one(Ward, board_round.ward_id)

    board = ward_board(session, ward, london_date(now))
    open_actions: dict[int, list[Action]] = {}
    stay_ids = [r.stay.id for r in board.rows if r.stay]
    for action in session.exec(
        select(Action).where(col(Action.stay_id).in_(stay_ids or [-1]), col(Action.done_at).is_(None))
    ):
        open_actions.setdefault(action.stay_id, []).append(action)
    return render(
        request,
        "rounds/handover.html",
        {
            "round": board_round,
            "ward": ward,
            "board": board,
            "open_actions": open_actions,
            "p": presenters,
            "delay_labels": labels(session, "delay_reasons"),
            "criteria_labels": labels(session, "criteria"),
            "red_labels": labels(session, "red_day_reasons"),
            "role_labels": labels(session, "roles"),
            "today": london_date(now),
            "now": now,
        },
    )
