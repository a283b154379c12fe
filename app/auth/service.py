"""Signing in: Argon2 password check, slow-down then lockout, every attempt audited.

Audit records name the account, never the password. Unknown usernames are checked against a
dummy hash so the response time does not reveal which accounts exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, func, select

from app.audit import service as audit
from app.auth.deps import principal_for
from app.auth.passwords import hash_password, verify_password
from app.models import StaffRole, User

# After this many consecutive failures each further attempt must wait, doubling each time.
SLOW_DOWN_AFTER = 3
# After this many the account locks for LOCK_MINUTES (an admin can unlock it sooner).
LOCK_AFTER = 8
LOCK_MINUTES = 15

_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("not-a-real-password")
    return _DUMMY_HASH


@dataclass
class SignInResult:
    user: User | None
    error: str | None = None
    retry_at: datetime | None = None


def _fail(session: Session, user: User | None, username: str, now: datetime, reason: str) -> None:
    audit.record(
        session,
        actor=None,
        actor_name=f"sign-in:{username[:60]}",
        action="sign_in_failed",
        entity_type="user",
        entity_id=user.id if user else "",
        at=now,
        after={"reason": reason},
    )


def authenticate(session: Session, *, username: str, password: str, now: datetime) -> SignInResult:
    username = username.strip().lower()
    user = session.exec(select(User).where(func.lower(User.username) == username)).first()
    generic = "Enter a correct username and password"
    if user is None or user.password_hash is None or user.is_service_account:
        verify_password(password, _dummy_hash())
        _fail(session, user, username, now, "unknown_user" if user is None else "no_password")
        return SignInResult(None, generic)
    if user.locked_until is not None and user.locked_until > now:
        _fail(session, user, username, now, "locked")
        locked = user.failed_sign_ins >= LOCK_AFTER
        message = (
            "This account is locked after too many failed attempts"
            if locked
            else "Too many failed attempts: wait a moment and try again"
        )
        return SignInResult(None, message, retry_at=user.locked_until)
    if not user.is_active:
        verify_password(password, _dummy_hash())
        _fail(session, user, username, now, "disabled")
        return SignInResult(None, generic)
    role = session.get(StaffRole, user.role_code)
    if not verify_password(password, user.password_hash) or role is None or not role.can_sign_in:
        user.failed_sign_ins += 1
        if user.failed_sign_ins >= LOCK_AFTER:
            user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            audit.record(
                session,
                actor=None,
                actor_name="system",
                action="account_locked",
                entity=user,
                at=now,
                after={"locked_until": user.locked_until.isoformat(), "failed_sign_ins": user.failed_sign_ins},
            )
        elif user.failed_sign_ins >= SLOW_DOWN_AFTER:
            user.locked_until = now + timedelta(seconds=2 ** (user.failed_sign_ins - SLOW_DOWN_AFTER + 1))
        _fail(session, user, username, now, "bad_password")
        return SignInResult(None, generic, retry_at=user.locked_until)
    user.failed_sign_ins = 0
    user.locked_until = None
    audit.record(
        session,
        actor=principal_for(session, user),
        action="sign_in",
        entity=user,
        at=now,
        after={"role": user.role_code},
    )
    return SignInResult(user)
