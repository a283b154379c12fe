"""Staff accounts: create, change role and wards, disable, reset password, clear failed sign-ins. All audited."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, func, select

from app.audit import service as audit
from app.audit.versions import check_version
from app.auth import sessions, throttle
from app.auth.passwords import hash_password
from app.config import Settings
from app.core.errors import Conflict, RuleViolation
from app.core.principal import Principal
from app.models import SignInPolicy, StaffRole, User, UserSession, UserWard, Ward
from app.users.schemas import UserCreate, UserUpdate


def _check_role_and_wards(session: Session, role_code: str, ward_ids: list[int]) -> StaffRole:
    role = session.get(StaffRole, role_code)
    if role is None or (not role.can_sign_in and role_code != "integration"):
        raise RuleViolation("Choose a role", field="role_code")
    if ward_ids:
        found = set(session.exec(select(Ward.id).where(col(Ward.id).in_(ward_ids))))
        if found != set(ward_ids):
            raise RuleViolation("Choose wards from the list", field="ward_ids")
    return role


def ward_ids_of(session: Session, user_id: int) -> list[int]:
    return sorted(session.exec(select(UserWard.ward_id).where(UserWard.user_id == user_id)))


def _set_wards(session: Session, user: User, ward_ids: list[int]) -> None:
    session.exec(delete(UserWard).where(col(UserWard.user_id) == user.id))
    for ward_id in sorted(set(ward_ids)):
        session.add(UserWard(user_id=user.id, ward_id=ward_id))


def create_user(
    session: Session, *, actor: Principal | None, data: UserCreate, now: datetime, actor_name: str | None = None
) -> User:
    _check_role_and_wards(session, data.role_code, data.ward_ids)
    if session.exec(select(User.id).where(func.lower(User.username) == data.username)).first() is not None:
        raise Conflict("That username is taken", field="username")
    service_account = data.role_code == "integration"
    if not service_account and not data.password:
        raise RuleViolation("Set a temporary password of at least 12 characters", field="password")
    user = User(
        username=data.username,
        display_name=data.display_name,
        role_code=data.role_code,
        password_hash=hash_password(data.password) if data.password and not service_account else None,
        is_service_account=service_account,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    _set_wards(session, user, data.ward_ids)
    session.flush()
    audit.record(
        session,
        actor=actor,
        actor_name=actor_name,
        action="user_create",
        entity=user,
        at=now,
        after=audit.snapshot(user, ward_ids=sorted(set(data.ward_ids))),
    )
    return user


def update_user(session: Session, *, actor: Principal, user: User, data: UserUpdate, now: datetime) -> User:
    check_version(session, user, data.version, lambda: {"username": user.username, "version": user.version})
    _check_role_and_wards(session, data.role_code, data.ward_ids)
    if actor.user_id == user.id and (not data.is_active or data.role_code != user.role_code):
        raise RuleViolation("You cannot disable yourself or change your own role", field="role_code")
    before = audit.snapshot(user, ward_ids=ward_ids_of(session, user.id))
    user.display_name = data.display_name
    user.role_code = data.role_code
    user.is_active = data.is_active
    user.updated_at = now
    _set_wards(session, user, data.ward_ids)
    session.flush()
    old, new = audit.changed(before, audit.snapshot(user, ward_ids=sorted(set(data.ward_ids))))
    if not data.is_active:
        new["sessions_ended"] = sessions.end_sessions(session, sessions.DISABLED, user_id=user.id)
    audit.record(session, actor=actor, action="user_update", entity=user, at=now, before=old, after=new)
    return user


def set_active(
    session: Session, *, actor: Principal | None, user: User, active: bool, now: datetime, actor_name: str | None = None
) -> User:
    if user.is_active != active:
        user.is_active = active
        user.updated_at = now
        session.flush()
        ended = 0 if active else sessions.end_sessions(session, sessions.DISABLED, user_id=user.id)
        audit.record(
            session,
            actor=actor,
            actor_name=actor_name,
            action="user_enable" if active else "user_disable",
            entity=user,
            at=now,
            before={"is_active": not active},
            after={"is_active": active} | ({} if active else {"sessions_ended": ended}),
        )
    return user


def reset_password(
    session: Session,
    *,
    actor: Principal | None,
    user: User,
    password: str,
    now: datetime,
    actor_name: str | None = None,
) -> User:
    if user.is_service_account:
        raise RuleViolation("Integration accounts use API tokens, not passwords", field="password")
    user.password_hash = hash_password(password)
    throttle.clear_account(session, user.username)  # the new password can be used at once
    user.updated_at = now
    session.flush()
    # Every session signed in with the old password (or otherwise) ends now.
    ended = sessions.end_sessions(session, sessions.PASSWORD, user_id=user.id)
    # Never the password or its hash: only that it changed.
    audit.record(
        session,
        actor=actor,
        actor_name=actor_name,
        action="user_reset_password",
        entity=user,
        at=now,
        after={"password": "changed", "sessions_ended": ended},
    )
    return user


def unlock(session: Session, *, actor: Principal, user: User, now: datetime) -> User:
    """Forget the failed sign-ins at this username, so its next attempt need not wait."""
    row = throttle.account_status(session, user.username)
    before = {"failed_sign_ins": row.failures if row else 0}
    throttle.clear_account(session, user.username)
    audit.record(
        session, actor=actor, action="user_unlock", entity=user, at=now, before=before, after={"failed_sign_ins": 0}
    )
    return user


def end_session(session: Session, *, actor: Principal, record: UserSession, now: datetime) -> int:
    """An administrator ends one browser's session (the same whatever the page showed: no version)."""
    ended = sessions.end_sessions(session, sessions.ADMIN, session_id=record.id)
    audit.record(
        session,
        actor=actor,
        action="session_end",
        entity_type="user",
        entity_id=record.user_id,
        at=now,
        after={"session_id": record.id, "method": record.method, "sessions_ended": ended},
    )
    return ended


def end_user_sessions(session: Session, *, actor: Principal, user: User, now: datetime) -> int:
    """An administrator signs a user out everywhere, without touching their password."""
    ended = sessions.end_sessions(session, sessions.ADMIN, user_id=user.id)
    audit.record(
        session,
        actor=actor,
        action="session_end",
        entity=user,
        at=now,
        after={"sessions_ended": ended},
    )
    return ended


def live_sessions(session: Session, settings: Settings, *, user_id: int | None = None) -> list[UserSession]:
    """Sessions still signed in (not ended, not idle, within their lifetime), newest activity first."""
    now = sessions.wall_clock()
    query = select(UserSession).where(
        col(UserSession.ended_at).is_(None),
        col(UserSession.seen_at) >= now - timedelta(minutes=settings.session_idle_minutes),
        col(UserSession.signed_in_at) >= now - timedelta(hours=settings.session_max_hours),
    )
    if user_id is not None:
        query = query.where(UserSession.user_id == user_id)
    return list(session.exec(query.order_by(col(UserSession.seen_at).desc(), col(UserSession.id).desc())))


def set_password_sign_in(
    session: Session,
    *,
    actor: Principal | None,
    allowed: bool,
    settings: Settings,
    now: datetime,
    actor_name: str | None = None,
) -> SignInPolicy:
    """Turn password sign-in on or off for everyone (audited). Off only once single sign-on is
    set up, so nobody is locked out; sessions already signed in carry on. The same outcome
    whatever the page showed: no version."""
    if not allowed and not settings.oidc_enabled:
        raise RuleViolation(
            "Set up single sign-on before turning passwords off (docs/single-sign-on.md)", field="local_sign_in"
        )
    policy = session.get(SignInPolicy, 1)
    before = True if policy is None else policy.password_sign_in
    if policy is None:
        policy = SignInPolicy(id=1, password_sign_in=allowed, updated_at=now)
        session.add(policy)
    policy.password_sign_in = allowed
    policy.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        actor_name=actor_name,
        action="sign_in_policy_update",
        entity_type="signinpolicy",
        entity_id=1,
        at=now,
        before={"password_sign_in": before},
        after={"password_sign_in": allowed},
    )
    return policy
