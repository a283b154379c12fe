"""Sign in (password or single sign-on), sign out, switch user, and the identity provider's logout."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlmodel import select

from app.audit import service as audit
from app.auth import service, sessions, throttle
from app.auth.deps import principal_for, session_user
from app.auth.oidc import OidcError, Provider, sso_origins
from app.auth.permissions import Perm, allows
from app.auth.sessions import (
    ADMIN,
    DISABLED,
    IDLE,
    IDP_LOGOUT,
    LIFETIME,
    PASSWORD,
    SIGNED_OUT,
    SWITCHED,
    BrowserSession,
)
from app.core.params import Now
from app.core.types import Name, no_nul
from app.core.validation import validate
from app.db import SessionDep, commit
from app.models import User, UserSession
from app.users import sso
from app.web.forms import FormData
from app.web.pages import safe_next
from app.web.templating import render, time_text
from app.web.urls import path_for

router = APIRouter(include_in_schema=False)
log = logging.getLogger("boardround.auth")

# The authorisation request's state, nonce, PKCE verifier and return path, signed, for 10 minutes.
FLOW_COOKIE = "boardround_oidc"
FLOW_SECONDS = 600

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
    return _ENDED.get(ended or "")


_ENDED = {
    SWITCHED: "The last person signed out of this device. Sign in to carry on on this ward.",
    ADMIN: "An administrator ended your session. Sign in to carry on.",
    PASSWORD: "Your password was changed, so you were signed out. Sign in with the new one.",
    DISABLED: "Your account is no longer active. Ask a Boardround administrator.",
    IDP_LOGOUT: "You signed out of your organisation's account, so Boardround signed you out too.",
}


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
    if session_user(session, _session(request), request.app.state.settings) is not None:
        return RedirectResponse(safe_next(next_), status_code=303)
    notice = _ended_notice(request, ended) or ("You have signed out." if signed_out else None)
    return _page(
        request,
        next_=safe_next(next_),
        notice=notice,
        password_sign_in=service.password_sign_in_allowed(session, request.app.state.settings),
    )


def _page(
    request: Request,
    *,
    next_: str,
    notice: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    password_sign_in: bool = True,
) -> Response:
    settings = request.app.state.settings
    context = {
        "next": next_,
        "notice": notice,
        "values": values or {},
        "errors": errors or {},
        "password_sign_in": password_sign_in and settings.password_sign_in,
        "sso_name": settings.oidc_provider_name if settings.oidc_enabled else None,
    }
    return render(request, "auth/sign_in.html", context, status_code=status_code, headers=headers)


@router.post("/sign-in", name="submit_sign_in")
def sign_in(request: Request, session: SessionDep, form: FormData, now: Now) -> Response:
    next_ = safe_next(str(form.get("next", "/")))
    data, errors = validate(SignInForm, form)
    values = {"username": str(form.get("username", ""))[:100]}
    if not service.password_sign_in_allowed(session, request.app.state.settings):
        message = "Sign in with your organisation's account: Boardround passwords are turned off here"
        return _page(
            request, next_=next_, values=values, errors={"username": message}, status_code=403, password_sign_in=False
        )
    if data is None:
        errors = {k: ("Enter your username" if k == "username" else "Enter your password") for k in errors}
        return _page(request, next_=next_, values=values, errors=errors, status_code=422)
    client = _client(request)
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
        _begin(request, session, result.user, sessions.PASSWORD_METHOD)
        return RedirectResponse(_landing(request, result.user, next_), status_code=303)
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


def _client(request: Request) -> str:
    return throttle.client_key(request.client.host if request.client else None)


def _landing(request: Request, user: User, next_: str) -> str:
    """Where a sign-in goes: the page asked for, or, with none asked, the hub for hub staff (who
    read no ward board, so the ward list would refuse them)."""
    if next_ == "/" and not allows(user.role_code, Perm.READ_WARD) and allows(user.role_code, Perm.READ_HUB):
        return path_for(request, "hub")
    return next_


def _begin(request: Request, session: SessionDep, user: User, method: str, oidc_sid: str | None = None) -> None:
    """A new session row for this browser, committed (old rows purged on the way)."""
    settings = request.app.state.settings
    sessions.purge(session, settings)
    sessions.begin(
        session,
        _session(request),
        user_id=user.id,
        method=method,
        client=_client(request),
        user_agent=request.headers.get("user-agent", ""),
        oidc_sid=oidc_sid,
    )
    commit(session)


@router.post("/sign-out", name="sign_out")
def sign_out(
    request: Request, session: SessionDep, now: Now, switch: Annotated[str, Form(max_length=5)] = ""
) -> Response:
    """Sign out everywhere; or, with `switch`, end only this tablet's session so the next
    person can sign in. Either way the ward stays chosen (its cookie) and the sign-in page
    clears this user's cached boards (static/js/app.js). After a single sign-on session the
    browser goes on to the provider's logout, so the next person is not signed in as this one."""
    browser = _session(request)
    settings = request.app.state.settings
    row = sessions.live(session, browser, settings) if browser.signed_in else None
    switching = switch == "1"
    if row is not None:
        user = session.get(User, row.user_id)
        if user is not None:
            service.sign_out(session, user, now=now, record_id=row.id, everywhere=not switching)
            commit(session)
    browser.forget()
    provider: Provider | None = request.app.state.oidc
    if row is not None and row.method == sessions.OIDC_METHOD and provider is not None:
        url = provider.end_session_url(str(request.url_for("sign_in")))
        if url:
            return RedirectResponse(url, status_code=303)
    return RedirectResponse("/sign-in?ended=switched" if switching else "/sign-in?signed_out=1", status_code=303)


# Single sign-on (OpenID Connect) ------------------------------------------------------------


class SsoOff(Exception):
    pass


def _provider(request: Request) -> Provider:
    provider: Provider | None = request.app.state.oidc
    if provider is None:
        raise SsoOff
    return provider


def _sso_off() -> Response:
    return RedirectResponse("/sign-in", status_code=303)


def _flow_serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.settings.secret_key, salt="boardround.oidc")


def _callback_url(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


@router.get("/auth/oidc/start", name="oidc_start")
def oidc_start(request: Request, next_: Annotated[str, Query(alias="next", max_length=2000)] = "/") -> Response:
    """Off to the provider, with a fresh state, nonce and PKCE verifier kept in a signed cookie."""
    try:
        provider = _provider(request)
    except SsoOff:
        return _sso_off()
    try:
        auth = provider.authorisation_request(_callback_url(request))
    except OidcError as exc:
        log.warning("single sign-on could not start: %s", exc.reason)
        return _page(request, next_=safe_next(next_), errors={"sso": exc.message}, status_code=502)
    response = RedirectResponse(auth.url, status_code=303)
    flow = {"state": auth.state, "nonce": auth.nonce, "verifier": auth.code_verifier, "next": safe_next(next_)}
    response.set_cookie(
        FLOW_COOKIE,
        _flow_serializer(request).dumps(flow),
        max_age=FLOW_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
        path="/auth/oidc",
    )
    return response


@router.get("/auth/oidc/callback", name="oidc_callback")
def oidc_callback(
    request: Request,
    session: SessionDep,
    now: Now,
    code: Annotated[str, Query(max_length=2000)] = "",
    state: Annotated[str, Query(max_length=500)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The provider sends the browser back: check the state, exchange the code, check the ID
    token, find or create the user, and sign this browser in."""
    try:
        provider = _provider(request)
    except SsoOff:
        return _sso_off()
    settings = request.app.state.settings
    try:
        flow = _flow_serializer(request).loads(request.cookies.get(FLOW_COOKIE, ""), max_age=FLOW_SECONDS)
    except BadSignature:
        flow = None
    next_ = safe_next(flow["next"]) if isinstance(flow, dict) else "/"

    def refuse(message: str, status: int) -> Response:
        response = _page(request, next_=next_, errors={"sso": message}, status_code=status)
        response.delete_cookie(FLOW_COOKIE, path="/auth/oidc")
        return response

    if error:
        return refuse("Single sign-on was cancelled or refused. Try again.", 400)
    if not isinstance(flow, dict) or not state or state != flow.get("state") or not code:
        return refuse("That sign-in link has expired. Try again.", 400)
    try:
        identity = provider.sign_in(
            code=code,
            code_verifier=str(flow["verifier"]),
            nonce=str(flow["nonce"]),
            redirect_uri=_callback_url(request),
        )
    except OidcError as exc:
        log.warning("single sign-on refused: %s", exc.reason)
        return refuse(exc.message, 400)
    try:
        user = sso.sign_in(session, identity, settings, now=now)
    except OidcError as exc:
        commit(session)  # the refusal's audit row (and a disabled account) stand
        return refuse(exc.message, 403)
    audit.record(
        session,
        actor=principal_for(session, user),
        action="sign_in",
        entity=user,
        at=now,
        after={"role": user.role_code, "client": _client(request), "method": sessions.OIDC_METHOD},
    )
    _begin(request, session, user, sessions.OIDC_METHOD, oidc_sid=identity.sid)
    response = RedirectResponse(_landing(request, user, next_), status_code=303)
    response.delete_cookie(FLOW_COOKIE, path="/auth/oidc")
    return response


@router.post("/auth/oidc/back-channel-logout", name="oidc_back_channel_logout")
def oidc_back_channel_logout(
    request: Request, session: SessionDep, now: Now, logout_token: Annotated[str, Form(max_length=20_000)] = ""
) -> Response:
    """OpenID Connect Back-Channel Logout 1.0: the provider, server to server, says a user
    signed out there. No cookie and no CSRF token: the signed logout token is the proof."""
    headers = {"Cache-Control": "no-store"}
    try:
        notice = _provider(request).verify_logout_token(logout_token)
    except SsoOff:
        return Response(status_code=400, headers=headers)
    except OidcError as exc:
        log.warning("back-channel logout refused: %s", exc.reason)
        return Response(status_code=400, headers=headers)
    sso.back_channel_logout(session, notice, now=now)
    commit(session)
    return Response(status_code=200, headers=headers)


@router.get("/auth/oidc/front-channel-logout", name="oidc_front_channel_logout")
def oidc_front_channel_logout(
    request: Request,
    session: SessionDep,
    now: Now,
    iss: Annotated[str, Query(max_length=300)] = "",
    sid: Annotated[str, Query(max_length=255)] = "",
) -> Response:
    """OpenID Connect Front-Channel Logout 1.0: loaded by the provider's logout page in a hidden
    frame. Ends the sessions of that provider session (and this browser's, if it sent its cookie)."""
    provider: Provider | None = request.app.state.oidc
    settings = request.app.state.settings
    browser = _session(request)
    if provider is None:
        return Response("", headers={"Cache-Control": "no-store"}, media_type="text/plain")
    if iss == provider.issuer and sid:
        sessions.end_sessions(session, IDP_LOGOUT, oidc_sid=sid)
    row = (
        session.exec(select(UserSession).where(UserSession.token_hash == sessions.token_hash(browser.sid))).first()
        if browser.signed_in
        else None
    )
    if row is not None and row.method == sessions.OIDC_METHOD:
        sessions.end_sessions(session, IDP_LOGOUT, session_id=row.id)
        browser.forget(IDP_LOGOUT)
    commit(session)
    # Only the provider's logout page may frame this (the app's other pages may not be framed).
    origins = " ".join(sso_origins(settings)) or "'none'"
    headers = {"Cache-Control": "no-store", "Content-Security-Policy": f"default-src 'none'; frame-ancestors {origins}"}
    return Response("", headers=headers, media_type="text/plain")
