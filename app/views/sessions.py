"""Admin pages: who is signed in where, and ending sessions (docs/adr/0015-server-side-sessions.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import col, select

from app.auth.deps import CanManageUsers
from app.auth.service import password_sign_in_allowed
from app.core.errors import NotFound
from app.core.params import Now, PathId
from app.db import SessionDep
from app.models import StaffRole, User, UserSession
from app.users import service
from app.users.schemas import SignInPolicyUpdate
from app.web.form_writes import NoFields, write_form
from app.web.forms import FormData
from app.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)


def _page(
    request: Request, session: SessionDep, *, message: str | None = None, errors: dict[str, str] | None = None
) -> Response:
    rows = service.live_sessions(session, request.app.state.settings)
    user_ids = sorted({r.user_id for r in rows})
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(user_ids)))} if user_ids else {}
    roles = {r.code: r.label for r in session.exec(select(StaffRole))}
    settings = request.app.state.settings
    context = {
        "rows": rows,
        "users": users,
        "roles": roles,
        "message": message,
        "errors": errors or {},
        "password_sign_in": password_sign_in_allowed(session, settings),
        "password_forced_off": not settings.password_sign_in,
        "sso_enabled": settings.oidc_enabled,
    }
    return render(request, "users/sessions.html", context, status_code=422 if errors else 200)


@router.get("/sessions", name="list_sessions")
def list_sessions(request: Request, session: SessionDep, actor: CanManageUsers) -> Response:
    return _page(request, session)


@router.post("/sessions/{session_id}/end", name="end_session")
def end_session(
    request: Request, session_id: PathId, session: SessionDep, actor: CanManageUsers, form: FormData, now: Now
) -> Response:
    """Ends one browser's session: the same whatever the page showed, so no version."""
    record = session.get(UserSession, session_id)
    if record is None:
        raise NotFound("No such session")
    return write_form(
        session,
        form,
        NoFields,
        lambda _data, _: service.end_session(session, actor=actor, record=record, now=now),
        done=lambda ended: _page(request, session, message="Session ended." if ended else "That session had ended."),
        again=lambda errors, status: _page(request, session, errors=errors),
    )


@router.post("/sign-in-policy", name="update_sign_in_policy")
def update_sign_in_policy(
    request: Request, session: SessionDep, actor: CanManageUsers, form: FormData, now: Now
) -> Response:
    """Password sign-in on or off: set to the value chosen, the same whatever the page showed (no version)."""
    settings = request.app.state.settings
    return write_form(
        session,
        form,
        SignInPolicyUpdate,
        lambda data, _: service.set_password_sign_in(
            session, actor=actor, allowed=data.local_sign_in == "on", settings=settings, now=now
        ),
        done=lambda policy: _page(
            request,
            session,
            message="Password sign-in is on." if policy.password_sign_in else "Password sign-in is off.",
        ),
        again=lambda errors, status: _page(request, session, errors=errors or {"local_sign_in": "Choose on or off"}),
    )
