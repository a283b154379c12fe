"""The ward board pages: the board, its live rows, the big-screen display and its event stream."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.auth.deps import CanReadWard
from app.auth.permissions import Perm, allows
from app.auth.scope import ward_by_code_or_404
from app.core.clock import london_date
from app.core.params import Now, PathCode
from app.db import SessionDep
from app.milestones import service as milestones
from app.models import Ward
from app.reference import labels
from app.rounds.service import ended_today, open_round
from app.views.movements import board_extras
from app.wards import presenters, queries
from app.web.htmx import vary, wants_fragment
from app.web.sse import StreamTurn, change_stream, watching
from app.web.templating import render

router = APIRouter(include_in_schema=False)

WARD_COOKIE = "boardround_ward"
Filter = Annotated[str, Query(alias="filter", max_length=20, pattern="^(|not_reviewed|nctr|los7|edd_overdue)$")]


def _board_context(
    request: Request, session: Session, ward: Ward, now: datetime, filter_key: str, *, display: bool = False
) -> dict:
    today = london_date(now)
    board = queries.ward_board(session, ward, today)
    rows = [r for r in board.rows if presenters.matches(r.stay, filter_key)] if filter_key else board.rows
    principal = request.state.principal
    return {
        "board": board,
        "rows": rows,
        "ward": ward,
        "today": today,
        "now": now,
        "filter_key": filter_key,
        "filters": presenters.FILTERS,
        "p": presenters,
        "display": display,
        "delay_labels": labels(session, "delay_reasons"),
        "red_labels": labels(session, "red_day_reasons"),
        "criteria_labels": labels(session, "criteria"),
        "round": open_round(session, ward.id),
        "ended_round": ended_today(session, ward.id, now),
        "can_run_round": allows(principal.role, Perm.RUN_ROUND),
        "can_log_failed": allows(principal.role, Perm.LOG_FAILED_DISCHARGE),
        **board_extras(session, principal),
        "milestone_rag": milestones.rag_by_stay(session, [r.stay.id for r in rows if r.stay], now),
    }


@router.get("/wards/{code}", name="ward_board")
def show_board(
    request: Request,
    code: PathCode,
    session: SessionDep,
    actor: CanReadWard,
    now: Now,
    filter_key: Filter = "",
) -> Response:
    ward = ward_by_code_or_404(session, actor, code)
    context = _board_context(request, session, ward, now, filter_key)
    if wants_fragment(request, "board-rows"):
        response = render(request, "wards/board.html", context, block_name="board_rows")
    else:
        response = render(request, "wards/board.html", context)
        # Remember the ward on this device (a ward code is not patient data).
        response.set_cookie(
            WARD_COOKIE,
            ward.code,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=request.app.state.settings.secure_cookies,
        )
    return vary(response)


@router.get("/wards/{code}/rows", name="board_rows")
def board_rows(
    request: Request,
    code: PathCode,
    session: SessionDep,
    actor: CanReadWard,
    now: Now,
    filter_key: Filter = "",
    display: bool = False,
) -> Response:
    """The rows alone, re-fetched by open boards when the ward changes."""
    ward = ward_by_code_or_404(session, actor, code)
    context = _board_context(request, session, ward, now, filter_key, display=display)
    return render(request, "wards/board.html", context, block_name="board_rows")


@router.get("/wards/{code}/display", name="board_display")
def board_display(request: Request, code: PathCode, session: SessionDep, actor: CanReadWard, now: Now) -> Response:
    """Large type for the ward's wall screen: initials only, updates itself."""
    ward = ward_by_code_or_404(session, actor, code)
    return render(request, "wards/display.html", _board_context(request, session, ward, now, "", display=True))


@router.get("/wards/{code}/events", name="board_events", dependencies=[StreamTurn])
async def board_events(request: Request, code: PathCode, session: SessionDep, actor: CanReadWard) -> Response:
    """Server-sent events: `board-changed` with ids only, whenever something on this ward changes."""
    ward = await run_in_threadpool(ward_by_code_or_404, session, actor, code)
    await watching(request, session)
    return change_stream(request, [ward.id], "board-changed")
