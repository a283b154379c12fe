"""Admin pages: users, their roles and wards, passwords, locks and integration tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from app.auth import throttle
from app.auth.deps import CanManageUsers
from app.auth.tokens import issue_token, revoke_token
from app.core.errors import NotFound, StaleVersion
from app.core.params import Now, PathId
from app.core.validation import as_list
from app.db import SessionDep
from app.models import ApiToken, StaffRole, User, UserWard, Ward
from app.users import service
from app.users.schemas import PasswordReset, TokenCreate, UserCreate, UserUpdate
from app.web.form_writes import NoFields, write_form
from app.web.forms import FormData
from app.web.htmx import go_to
from app.web.templating import render
from app.web.urls import path_for

router = APIRouter(prefix="/admin/users", include_in_schema=False)
Admin = CanManageUsers


def _choices(session: Session) -> dict[str, Any]:
    roles = list(
        session.exec(
            select(StaffRole)
            .where(col(StaffRole.can_sign_in) | (StaffRole.code == "integration"))
            .order_by(col(StaffRole.sort_order))
        )
    )
    wards = list(session.exec(select(Ward).order_by(Ward.code)))
    return {"roles": roles, "wards": wards}


def _user_or_404(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user")
    return user


@router.get("", name="list_users")
def list_users(request: Request, session: SessionDep, actor: Admin, now: Now) -> Response:
    users = list(session.exec(select(User).order_by(User.display_name)))
    wards = {w.id: w for w in session.exec(select(Ward))}
    assigned: dict[int, list[str]] = {}
    for link in session.exec(select(UserWard)):
        assigned.setdefault(link.user_id, []).append(wards[link.ward_id].code)
    roles = {r.code: r.label for r in session.exec(select(StaffRole))}
    context = {
        "users": users,
        "assigned": assigned,
        "roles": roles,
        "waiting": throttle.waiting_usernames(session, now),
    }
    return render(request, "users/list.html", context)


@router.get("/new", name="new_user")
def new_user(request: Request, session: SessionDep, actor: Admin) -> Response:
    return render(request, "users/new.html", {"values": {"ward_ids": []}, "errors": {}, **_choices(session)})


@router.post("/new", name="create_user")
def create_user(request: Request, session: SessionDep, actor: Admin, form: FormData, now: Now) -> Response:
    values = form | {"ward_ids": as_list(form.get("ward_ids"))}
    values["password"] = values.get("password") or None

    def again(errors: dict[str, str], status: int) -> Response:
        shown = {k: v for k, v in values.items() if k != "password"}  # never echo a password back into the page
        return render(
            request, "users/new.html", {"values": shown, "errors": errors, **_choices(session)}, status_code=status
        )

    def done(user: User) -> Response:
        return go_to(request, path_for(request, "edit_user", {"created": 1}, user_id=user.id))

    return write_form(
        session,
        form,
        UserCreate,
        lambda data, _: service.create_user(session, actor=actor, data=data, now=now),
        values=values,
        done=done,
        again=again,
    )


def _edit_page(
    request: Request,
    session: Session,
    user: User,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    new_token: str | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    tokens = list(session.exec(select(ApiToken).where(ApiToken.user_id == user.id).order_by(col(ApiToken.id).desc())))
    values = values or {
        "display_name": user.display_name,
        "role_code": user.role_code,
        "is_active": user.is_active,
        "ward_ids": [str(i) for i in service.ward_ids_of(session, user.id)],
        "version": user.version,
    }
    return render(
        request,
        "users/edit.html",
        {
            "user": user,
            "values": values,
            "errors": errors or {},
            "tokens": tokens,
            "new_token": new_token,
            "message": message,
            "sign_in_throttle": throttle.account_status(session, user.username),
            "sessions": service.live_sessions(session, request.app.state.settings, user_id=user.id),
            **_choices(session),
        },
        status_code=status_code,
    )


@router.get("/{user_id}", name="edit_user")
def edit_user(request: Request, user_id: PathId, session: SessionDep, actor: Admin, created: bool = False) -> Response:
    user = _user_or_404(session, user_id)
    return _edit_page(request, session, user, message="User created." if created else None)


@router.post("/{user_id}", name="update_user")
def update_user(
    request: Request, user_id: PathId, session: SessionDep, actor: Admin, form: FormData, now: Now
) -> Response:
    user = _user_or_404(session, user_id)
    values = form | {"ward_ids": as_list(form.get("ward_ids")), "is_active": form.get("is_active") == "yes"}

    def stale(_: StaleVersion) -> Response:
        message = (
            "Someone else changed this user while you were editing. The page now shows their version: make your "
            "change again."
        )
        return _edit_page(request, session, user, errors={"form": message}, status_code=409)

    return write_form(
        session,
        form,
        UserUpdate,
        lambda data, drawn_at: service.update_user(session, actor=actor, user=user, data=data, now=now),
        version="version",
        values=values,
        done=lambda _: _edit_page(request, session, user, message="Changes saved."),
        again=lambda errors, status: _edit_page(
            request, session, user, values=values, errors=errors, status_code=status
        ),
        stale=stale,
    )


@router.post("/{user_id}/password", name="reset_password")
def reset_password(
    request: Request, user_id: PathId, session: SessionDep, actor: Admin, form: FormData, now: Now
) -> Response:
    """Sets a new secret rather than editing what the page showed: no version (see tests/security)."""
    user = _user_or_404(session, user_id)

    def again(errors: dict[str, str], status: int) -> Response:
        message = errors.get("password", "Enter a password of at least 12 characters")
        return _edit_page(request, session, user, errors={"password": message}, status_code=status)

    return write_form(
        session,
        form,
        PasswordReset,
        lambda data, _: service.reset_password(session, actor=actor, user=user, password=data.password, now=now),
        done=lambda _: _edit_page(request, session, user, message="Password reset. Their other sessions have ended."),
        again=again,
    )


@router.post("/{user_id}/unlock", name="unlock_user")
def unlock_user(
    request: Request, user_id: PathId, session: SessionDep, actor: Admin, form: FormData, now: Now
) -> Response:
    """Clears a lock: the same whatever the page showed, so no version."""
    user = _user_or_404(session, user_id)
    return write_form(
        session,
        form,
        NoFields,
        lambda _data, _: service.unlock(session, actor=actor, user=user, now=now),
        done=lambda _: _edit_page(request, session, user, message="Failed sign-ins cleared: they can sign in now."),
        again=lambda errors, status: _edit_page(request, session, user, errors=errors, status_code=status),
    )


@router.post("/{user_id}/tokens", name="create_token")
def create_token(
    request: Request, user_id: PathId, session: SessionDep, actor: Admin, form: FormData, now: Now
) -> Response:
    user = _user_or_404(session, user_id)
    refused = {} if user.is_service_account else {"name": "Only integration accounts have API tokens"}

    def again(errors: dict[str, str], status: int) -> Response:
        return _edit_page(request, session, user, errors=errors or {"name": "Name the token"}, status_code=status)

    return write_form(
        session,
        form,
        TokenCreate,
        lambda data, _: issue_token(session, user=user, name=data.name, actor=actor, now=now),
        errors=refused,
        done=lambda issued: _edit_page(request, session, user, new_token=issued[1]),
        again=again,
    )


@router.post("/{user_id}/tokens/{token_id}/revoke", name="revoke_token")
def revoke(
    request: Request, user_id: PathId, token_id: PathId, session: SessionDep, actor: Admin, form: FormData, now: Now
) -> Response:
    """Ends a token for good: the same whatever the page showed, so no version."""
    user = _user_or_404(session, user_id)
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("No such token")
    name = token.name
    return write_form(
        session,
        form,
        NoFields,
        lambda _data, _: revoke_token(session, token_id=token_id, actor=actor, now=now),
        done=lambda _: _edit_page(request, session, user, message=f"Token “{name}” revoked."),
        again=lambda errors, status: _edit_page(request, session, user, errors=errors, status_code=status),
    )


@router.post("/{user_id}/sessions/end", name="end_user_sessions")
def end_user_sessions(
    request: Request, user_id: PathId, session: SessionDep, actor: Admin, form: FormData, now: Now
) -> Response:
    """Signs the user out everywhere, password untouched: the same whatever the page showed, so no version."""
    user = _user_or_404(session, user_id)
    return write_form(
        session,
        form,
        NoFields,
        lambda _data, _: service.end_user_sessions(session, actor=actor, user=user, now=now),
        done=lambda ended: _edit_page(
            request, session, user, message=f"Signed out everywhere ({ended} session{'s' if ended != 1 else ''} ended)."
        ),
        again=lambda errors, status: _edit_page(request, session, user, errors=errors, status_code=status),
    )
