"""Admin pages: users, their roles and wards, passwords, locks and integration tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from app.auth import throttle
from app.auth.deps import CanManageUsers
from app.auth.tokens import issue_token, revoke_token
from app.core.errors import DomainError, NotFound
from app.core.params import Now, PathId
from app.core.validation import as_list, domain_errors, validate
from app.db import SessionDep, commit
from app.models import ApiToken, StaffRole, User, UserWard, Ward
from app.users import service
from app.users.schemas import PasswordReset, TokenCreate, UserCreate, UserUpdate
from app.web.forms import FormData
from app.web.templating import render

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
    data, errors = validate(UserCreate, values)
    if data is not None:
        try:
            user = service.create_user(session, actor=actor, data=data, now=now)
            commit(session)
            return RedirectResponse(f"/admin/users/{user.id}?created=1", status_code=303)
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
    values.pop("password", None)  # never echo a password back into the page
    return render(request, "users/new.html", {"values": values, "errors": errors, **_choices(session)}, status_code=422)


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
    data, errors = validate(UserUpdate, values)
    if data is not None:
        try:
            service.update_user(session, actor=actor, user=user, data=data, now=now)
            commit(session)
            return _edit_page(request, session, user, message="Changes saved.")
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
            if exc.status_code == 409:
                errors = {
                    "form": "Someone else changed this user while you were editing. "
                    "The page now shows their version: make your change again."
                }
                session.refresh(user)
                return _edit_page(request, session, user, errors=errors, status_code=409)
    return _edit_page(request, session, user, values=values, errors=errors, status_code=422)


@router.post("/{user_id}/password", name="reset_password")
def reset_password(
    request: Request, user_id: PathId, session: SessionDep, actor: Admin, form: FormData, now: Now
) -> Response:
    user = _user_or_404(session, user_id)
    data, errors = validate(PasswordReset, form)
    if data is not None:
        try:
            service.reset_password(session, actor=actor, user=user, password=data.password, now=now)
            commit(session)
            return _edit_page(request, session, user, message="Password reset. Their other sessions have ended.")
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
    errors = {"password": errors.get("password", "Enter a password of at least 12 characters")}
    return _edit_page(request, session, user, errors=errors, status_code=422)


@router.post("/{user_id}/unlock", name="unlock_user")
def unlock_user(request: Request, user_id: PathId, session: SessionDep, actor: Admin, now: Now) -> Response:
    user = _user_or_404(session, user_id)
    service.unlock(session, actor=actor, user=user, now=now)
    commit(session)
    return _edit_page(request, session, user, message="Failed sign-ins cleared: they can sign in now.")


@router.post("/{user_id}/tokens", name="create_token")
def create_token(
    request: Request, user_id: PathId, session: SessionDep, actor: Admin, form: FormData, now: Now
) -> Response:
    user = _user_or_404(session, user_id)
    data, errors = validate(TokenCreate, form)
    if not user.is_service_account:
        errors = {"name": "Only integration accounts have API tokens"}
    if data is None or errors:
        return _edit_page(request, session, user, errors=errors or {"name": "Name the token"}, status_code=422)
    _, raw = issue_token(session, user=user, name=data.name, actor=actor, now=now)
    commit(session)
    return _edit_page(request, session, user, new_token=raw)


@router.post("/{user_id}/tokens/{token_id}/revoke", name="revoke_token")
def revoke(
    request: Request, user_id: PathId, token_id: PathId, session: SessionDep, actor: Admin, now: Now
) -> Response:
    user = _user_or_404(session, user_id)
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("No such token")
    revoke_token(session, token_id=token_id, actor=actor, now=now)
    commit(session)
    return _edit_page(request, session, user, message=f"Token “{token.name}” revoked.")
