"""Sign in and sign out (HTML)."""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.auth import service, throttle
from app.auth.deps import session_user
from app.auth.sessions import IDLE, LIFETIME, SIGNED_OUT, BrowserSession
from app.core.params import Now
from app.core.types import Name, no_nul
from app.core.validation import validate
from app.db import SessionDep, commit
from app.models import User
from app.web.forms import FormData
from app.web.pages import safe_next
from app.web.templating import render, time_text

router = APIRouter(include_in_schema=False)

WRONG = "Enter a correct username and password"


class SignInForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    username: Name
    password: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(no_nul)]  # never stripped


def _session(request: Request) -> BrowserSession:
    return request.state.browser_session


def _ended_notice(request: Request, ended: str | None) -> str | None:
    if ended == IDLE:
        return "You were signed out because the tablet was not used for a while. Sign in to carry on."
    if ended == LIFETIME:
        hours = request.app.state.settings.session_max_hours
        return f"Your session ended after {_hours(hours)}: sign in again to carry on."
    if ended == SIGNED_OUT:
        return "You were signed out because you signed out on this or another device. Sign in to carry on."
    return None


def _hours(hours: float) -> str:
    if hours >= 1 and float(hours).is_integer():
        return f"{int(hours)} hour{'s' if hours != 1 else ''}"
    minutes = round(hours * 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@router.get("/sign-in", name="sign_in")
def show_sign_in(
    request: Request,
    session: SessionDep,
    next_: Annotated[str, Query(alias="next", max_length=2000)] = "/",
    ended: Annotated[str | None, Query(max_length=20)] = None,
    signed_out: bool = False,
) -> Response:
    if session_user(session, _session(request)) is not None:
        return RedirectResponse(safe_next(next_), status_code=303)
    notice = _ended_notice(request, ended) or ("You have signed out." if signed_out else None)
    return _page(request, next_=safe_next(next_), notice=notice)


def _page(
    request: Request,
    *,
    next_: str,
    notice: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    context = {"next": next_, "notice": notice, "values": values or {}, "errors": errors or {}}
    return render(request, "auth/sign_in.html", context, status_code=status_code, headers=headers)


@router.post("/sign-in", name="submit_sign_in")
def sign_in(request: Request, session: SessionDep, form: FormData, now: Now) -> Response:
    next_ = safe_next(str(form.get("next", "/")))
    data, errors = validate(SignInForm, form)
    values = {"username": str(form.get("username", ""))[:100]}
    if data is None:
        errors = {k: ("Enter your username" if k == "username" else "Enter your password") for k in errors}
        return _page(request, next_=next_, values=values, errors=errors, status_code=422)
    client = throttle.client_key(request.client.host if request.client else None)
    attempt = service.start(session, username=data.username, client=client, now=now)
    # Committed before the password is checked: the attempt counts (or its refusal is audited)
    # whatever happens next, and no transaction stays open during the Argon2 check.
    commit(session)
    reservation = attempt.reservation
    if not reservation.allowed:
        seconds = reservation.retry_after_seconds(now)
        return _page(
            request,
            next_=next_,
            values=values,
            errors={"username": _too_many(reservation.refused_by, seconds, now)},
            status_code=429,
            headers={"Retry-After": str(seconds)},
        )
    result = service.finish(session, attempt, password_ok=service.check_password(attempt, data.password), now=now)
    commit(session)
    if result.user is not None:
        _session(request).sign_in(result.user.id, result.user.password_hash, time.time())  # type: ignore[arg-type]
        return RedirectResponse(next_, status_code=303)
    message = WRONG
    if result.retry_at is not None:
        message += f". You can try again in {_wait(math.ceil((result.retry_at - now).total_seconds()))}"
    return _page(request, next_=next_, values=values, errors={"username": message}, status_code=422)


def _too_many(refused_by: str | None, seconds: int, now: datetime) -> str:
    where = "from this device" if refused_by == throttle.CLIENT else "for this username"
    message = f"Too many failed sign-in attempts {where}. Try again in {_wait(seconds)}"
    if seconds >= 60:
        message += f" (after {time_text(now + timedelta(seconds=seconds))})"
    return message


def _wait(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@router.post("/sign-out", name="sign_out")
def sign_out(request: Request, session: SessionDep, now: Now) -> Response:
    browser = _session(request)
    if browser.user_id is not None:
        user = session.get(User, browser.user_id)
        if user is not None:
            service.sign_out(session, user, now=now)
            commit(session)
    browser.sign_out()
    return RedirectResponse("/sign-in?signed_out=1", status_code=303)
