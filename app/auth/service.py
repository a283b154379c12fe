"""Signing in: throttle first, then the Argon2 password check; every attempt audited.

A sign-in is three steps, and the route commits after the first and the last:
`start` reserves the attempt with the throttle (app/auth/throttle.py) and reads the account;
`check_password` runs Argon2 and touches no database (so no transaction, and on SQLite no write
lock, is held while it runs); `finish` records the outcome. Refused attempts are audited in
`start`, checked ones in `finish`.

Audit records name the username typed and the client address, never the password. Unknown
usernames are checked against a dummy hash and throttled like real ones, so neither the
response time nor a refusal reveals which accounts exist.

Signing out ends every session of the user, on every device (`sign_out`, docs/adr/0002).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, func, select

from app.audit import service as audit
from app.auth import sessions, throttle
from app.auth.deps import principal_for
from app.auth.passwords import hash_password, verify_password
from app.config import Settings
from app.models import SignInPolicy, StaffRole, User

_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("not-a-real-password")
    return _DUMMY_HASH


@dataclass
class Attempt:
    username: str  # as typed, stripped and in lower case
    client: str  # throttle.client_key of the client address
    user: User | None
    can_sign_in: bool  # an active person (not an integration account) whose role may sign in
    reservation: throttle.Reservation


@dataclass
class SignInResult:
    user: User | None
    # After a wrong password: when the next attempt may be made, if it must wait.
    retry_at: datetime | None = None


def start(session: Session, *, username: str, client: str, now: datetime) -> Attempt:
    """Reserve the attempt (or refuse and audit it) and read the account. The caller commits
    before checking the password, so the attempt is counted whatever happens next."""
    username = throttle.username_key(username)
    reservation = throttle.reserve(session, client=client, username=username, now=now)
    user = session.exec(select(User).where(func.lower(User.username) == username)).first()
    role = session.get(StaffRole, user.role_code) if user is not None else None
    can_sign_in = bool(
        user is not None
        and user.password_hash
        and user.is_active
        and not user.is_service_account
        and role is not None
        and role.can_sign_in
    )
    attempt = Attempt(username, client, user, can_sign_in, reservation)
    if not reservation.allowed:
        _fail(
            session,
            attempt,
            now,
            "throttled",
            limit=reservation.refused_by,
            retry_after=reservation.retry_after_seconds(now),
        )
    return attempt


def check_password(attempt: Attempt, password: str) -> bool:
    """Argon2, and nothing else: no database. Accounts that cannot sign in cost the same time."""
    if not attempt.can_sign_in or attempt.user is None:
        verify_password(password, _dummy_hash())
        return False
    return verify_password(password, attempt.user.password_hash)


def finish(session: Session, attempt: Attempt, *, password_ok: bool, now: datetime) -> SignInResult:
    user = attempt.user
    if not password_ok or user is None:
        _fail(session, attempt, now, _reason(attempt))
        retry_at = attempt.reservation.next_allowed_at
        return SignInResult(None, retry_at=retry_at if retry_at and retry_at > now else None)
    throttle.give_back(session, client=attempt.client, username=attempt.username, now=now)
    audit.record(
        session,
        actor=principal_for(session, user),
        action="sign_in",
        entity=user,
        at=now,
        after={"role": user.role_code, "client": attempt.client},
    )
    return SignInResult(user)


def _reason(attempt: Attempt) -> str:
    user = attempt.user
    if user is None:
        return "unknown_user"
    if not user.password_hash or user.is_service_account:
        return "no_password"
    if not user.is_active:
        return "disabled"
    if not attempt.can_sign_in:
        return "role_cannot_sign_in"
    return "bad_password"


def _fail(session: Session, attempt: Attempt, now: datetime, reason: str, **details: object) -> None:
    audit.record(
        session,
        actor=None,
        actor_name=f"sign-in:{attempt.username[:60]}",
        action="sign_in_failed",
        entity_type="user",
        entity_id=attempt.user.id if attempt.user else "",
        at=now,
        after={"reason": reason, "client": attempt.client, **details},
    )


def sign_out(session: Session, user: User, *, now: datetime, record_id: int | None = None, everywhere: bool) -> int:
    """End this browser's session (`record_id`), or every session of the user on any device.

    Signing out ends them everywhere (docs/adr/0002): someone who signs out on one tablet and
    forgot another signed in has closed that one too. "Switch user" ends only this tablet's."""
    if everywhere:
        ended = sessions.end_sessions(session, sessions.SIGNED_OUT, user_id=user.id)
    elif record_id is not None:
        ended = sessions.end_sessions(session, sessions.SWITCHED, session_id=record_id)
    else:
        ended = 0
    audit.record(
        session,
        actor=principal_for(session, user),
        action="sign_out",
        entity=user,
        at=now,
        after={"everywhere": everywhere, "sessions_ended": ended},
    )
    return ended


def password_sign_in_allowed(session: Session, settings: Settings) -> bool:
    """Off when the settings turn it off, else as an administrator set it (on by default)."""
    if not settings.password_sign_in:
        return False
    policy = session.get(SignInPolicy, 1)
    return policy is None or policy.password_sign_in
