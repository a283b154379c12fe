"""Sign in and sign out (HTML)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.audit import service as audit
from app.auth import service
from app.auth.deps import principal_for
from app.auth.sessions import BrowserSession
from app.core.params import Now
from app.core.types import Name, no_nul
from app.core.validation import validate
from app.db import SessionDep
from app.models import User
from app.web.forms import FormData
from app.web.pages import safe_next
from app.web.templating import london_time, render

router = APIRouter(include_in_schema=False)


class SignInForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    username: Name
    password: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(no_nul)]  # never stripped


def _session(request: Request) -> BrowserSession:
    return request.state.browser_session


@router.get("/sign-in", name="sign_in")
def show_sign_in(
    request: Request,
    session: SessionDep,
    next_: Annotated[str, Query(alias="next", max_length=2000)] = "/",
    expired: bool = False,
    signed_out: bool = False,
) -> Response:
    browser = _session(request)
    if browser.user_id is not None:
        user = session.get(User, browser.user_id)
        if user is not None and user.is_active:
            return RedirectResponse(safe_next(next_), status_code=303)
    notice = None
    if expired:
        notice = "You were signed out because the tablet was not used for a while. Sign in to carry on."
    elif signed_out:
        notice = "You have signed out."
    return render(
        request, "auth/sign_in.html", {"next": safe_next(next_), "notice": notice, "values": {}, "errors": {}}
    )


@router.post("/sign-in", name="submit_sign_in")
def sign_in(request: Request, session: SessionDep, form: FormData, now: Now) -> Response:
    next_ = safe_next(str(form.get("next", "/")))
    data, errors = validate(SignInForm, form)
    values = {"username": str(form.get("username", ""))[:100]}
    if data is not None:
        result = service.authenticate(session, username=data.username, password=data.password, now=now)
        session.commit()  # failed attempts and lockouts are recorded too
        if result.user is not None:
            _session(request).sign_in(result.user.id, result.user.password_hash, time.time())  # type: ignore[arg-type]
            return RedirectResponse(next_, status_code=303)
        message = result.error or "Enter a correct username and password"
        if result.retry_at is not None:
            message += f" (try again after {london_time(result.retry_at)})"
        errors = {"username": message}
    else:
        errors = {k: ("Enter your username" if k == "username" else "Enter your password") for k in errors}
    return render(
        request,
        "auth/sign_in.html",
        {"next": next_, "notice": None, "values": values, "errors": errors},
        status_code=422,
    )


@router.post("/sign-out", name="sign_out")
def sign_out(request: Request, session: SessionDep, now: Now) -> Response:
    browser = _session(request)
    if browser.user_id is not None:
        user = session.get(User, browser.user_id)
        if user is not None:
            audit.record(session, actor=principal_for(session, user), action="sign_out", entity=user, at=now)
            session.commit()
    browser.sign_out()
    return RedirectResponse("/sign-in?signed_out=1", status_code=303)
