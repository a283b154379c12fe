"""Browser sessions: a signed cookie naming a server-side session row (docs/adr/0015).

The cookie (HttpOnly, SameSite=Lax, Secure over HTTPS) carries only a random session id, signed,
and whether this browser claims to be signed in. The session itself is a `usersession` row, found
by the SHA-256 of that id: who signed in, how (password or single sign-on), when, when last
active, from which client, and, once over, when and why it ended. So an administrator can list
and end any session, and a password reset, a disabled account, signing out, switching user and
the identity provider's logout end sessions at once, each by writing `ended_at`.

Idle sessions end after `session_idle_minutes` (shared ward tablets), and every session after
`session_max_hours` however active (a ward shift). Both are worked out from the row's times on
each request; the last activity is written at most once a minute, and never for background
requests (live updates, polling), so an unattended tablet still times out. The CSRF secret is
derived from the session id, which is new at every sign-in (no session fixation).

Session times are wall-clock (time.time()), not the app's clock, which tests freeze.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlmodel import Session, col, delete, select, update
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings
from app.models import UserSession

COOKIE = "boardround_session"

# Why a signed-in session ended, shown on the sign-in page (`?ended=`).
IDLE = "idle"
LIFETIME = "lifetime"
SIGNED_OUT = "signed_out"  # the user signed out, on this device or another
SWITCHED = "switched"  # someone else took over this tablet ("Switch user")
ADMIN = "admin"  # an administrator ended it
PASSWORD = "password"  # noqa: S105 (a reason: the password was reset or changed)
DISABLED = "disabled"  # the account was disabled, or lost its role
IDP_LOGOUT = "idp_logout"  # the identity provider said the user signed out there

PASSWORD_METHOD = "password"  # noqa: S105 (how the session signed in)
OIDC_METHOD = "oidc"

# Last activity is written at most this often (seconds).
SEEN_RESOLUTION = 60


@dataclass
class BrowserSession:
    sid: str
    # The cookie says this browser signed in; only the session row says whether it still is.
    signed_in: bool = False
    ended: str | None = None  # why a signed-in session just ended (IDLE...): the user is told
    background: bool = False  # a live update or poll: not activity
    changed: bool = False
    user_id: int | None = None  # set once the row has been checked (app/auth/deps.py)
    record_id: int | None = None

    def csrf_token(self, secret: str) -> str:
        return hmac.new(secret.encode(), f"csrf:{self.sid}".encode(), hashlib.sha256).hexdigest()

    def renew(self, *, signed_in: bool) -> None:
        # A new session id on sign-in and sign-out: a session fixed before is useless afterwards.
        self.sid = secrets.token_urlsafe(32)
        self.signed_in = signed_in
        self.user_id = None
        self.record_id = None
        self.changed = True

    def forget(self, reason: str | None = None) -> None:
        """This browser's session is over (the row, if any, is ended elsewhere)."""
        if self.signed_in and reason is not None:
            self.ended = reason
        self.renew(signed_in=False)


def token_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def wall_clock() -> datetime:
    return datetime.fromtimestamp(time.time(), UTC)


# Server side ---------------------------------------------------------------------------------


def begin(
    session: Session,
    browser: BrowserSession,
    *,
    user_id: int,
    method: str,
    client: str,
    user_agent: str,
    oidc_sid: str | None = None,
) -> UserSession:
    """Sign this browser in: a new session id and a new row. The caller commits."""
    now = wall_clock()
    if browser.signed_in:
        # Signing in again over a live session (another person, or the same): the old row ends.
        session.execute(
            update(UserSession)
            .where(col(UserSession.token_hash) == token_hash(browser.sid), col(UserSession.ended_at).is_(None))
            .values(ended_at=now, ended_reason=SWITCHED)
        )
    browser.renew(signed_in=True)
    row = UserSession(
        token_hash=token_hash(browser.sid),
        user_id=user_id,
        method=method,
        signed_in_at=now,
        seen_at=now,
        client=client[:64],
        user_agent=user_agent[:200],
        oidc_sid=oidc_sid[:255] if oidc_sid else None,
    )
    session.add(row)
    session.flush()
    browser.user_id = user_id
    browser.record_id = row.id
    return row


def live(session: Session, browser: BrowserSession, settings: Settings) -> UserSession | None:
    """The browser's live session row, or None (and the browser told why its session ended).

    Refreshes the last activity at most once a minute, in its own short write transaction."""
    if not browser.signed_in:
        return None
    row = session.exec(select(UserSession).where(UserSession.token_hash == token_hash(browser.sid))).first()
    if row is None:
        browser.forget(SIGNED_OUT)
        return None
    now = wall_clock()
    reason = ended_reason(row, settings, now)
    if reason is not None:
        browser.forget(reason)
        return None
    if not browser.background and (now - row.seen_at).total_seconds() > SEEN_RESOLUTION:
        # End the read transaction first: on SQLite a write that begins its own transaction
        # waits for the lock, where one upgraded from a read can fail at once.
        session.commit()
        session.execute(update(UserSession).where(col(UserSession.id) == row.id).values(seen_at=now))
        session.commit()
        row.seen_at = now
    browser.user_id = row.user_id
    browser.record_id = row.id
    return row


def ended_reason(row: UserSession, settings: Settings, now: datetime) -> str | None:
    """Why this session is over (None: it is live)."""
    if row.ended_at is not None:
        return row.ended_reason or SIGNED_OUT
    if now - row.seen_at > timedelta(minutes=settings.session_idle_minutes):
        return IDLE
    if now - row.signed_in_at > timedelta(hours=settings.session_max_hours):
        # However active: a session copied or left signed in does not last beyond a shift.
        return LIFETIME
    return None


def is_live(row: UserSession, settings: Settings, now: datetime) -> bool:
    return ended_reason(row, settings, now) is None


def end_sessions(
    session: Session,
    reason: str,
    *,
    user_id: int | None = None,
    session_id: int | None = None,
    oidc_sid: str | None = None,
) -> int:
    """End the matching sessions still open (one, a user's, or a provider session's); how many."""
    now = wall_clock()
    query = update(UserSession).where(col(UserSession.ended_at).is_(None))
    if user_id is not None:
        query = query.where(col(UserSession.user_id) == user_id)
    if session_id is not None:
        query = query.where(col(UserSession.id) == session_id)
    if oidc_sid is not None:
        query = query.where(col(UserSession.oidc_sid) == oidc_sid)
    if user_id is None and session_id is None and oidc_sid is None:
        raise ValueError("end_sessions needs a user, a session or a provider session")
    result = session.execute(query.values(ended_at=now, ended_reason=reason))
    return int(getattr(result, "rowcount", 0) or 0)


def purge(session: Session, settings: Settings) -> None:
    """Delete rows over for a day (ended, or beyond the lifetime): the audit trail keeps sign-ins."""
    cutoff = wall_clock() - timedelta(days=1)
    session.execute(
        delete(UserSession).where(
            (col(UserSession.ended_at) < cutoff)
            | (col(UserSession.signed_in_at) < cutoff - timedelta(hours=settings.session_max_hours))
        )
    )


# The cookie ----------------------------------------------------------------------------------


def _new() -> BrowserSession:
    return BrowserSession(sid=secrets.token_urlsafe(32), changed=True)


class SessionMiddleware:
    """Loads the cookie into `request.state.browser_session` and writes it back when needed."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.serializer = URLSafeSerializer(settings.secret_key, salt="boardround.session")

    def load(self, raw: str | None) -> BrowserSession:
        if not raw:
            return _new()
        try:
            data = self.serializer.loads(raw)
            return BrowserSession(sid=str(data["sid"]), signed_in=bool(data.get("in")))
        except (BadSignature, KeyError, TypeError, ValueError):
            return _new()

    def dump(self, session: BrowserSession) -> str:
        return self.serializer.dumps({"sid": session.sid, "in": 1 if session.signed_in else 0})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        session = self.load(conn.cookies.get(COOKIE))
        bearer = conn.headers.get("authorization", "").lower().startswith("bearer ")
        session.background = _is_background(conn)
        scope.setdefault("state", {})
        scope["state"]["browser_session"] = session
        scope["state"]["session_cookie"] = not bearer and session.signed_in

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and session.changed and not bearer:
                response = Response()
                response.set_cookie(
                    COOKIE,
                    self.dump(session),
                    httponly=True,
                    samesite="lax",
                    secure=self.settings.secure_cookies,
                    path="/",
                )
                headers = list(message.get("headers", []))
                headers.extend((k, v) for k, v in response.raw_headers if k == b"set-cookie")
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _is_background(conn: HTTPConnection) -> bool:
    """Polling and live-update requests must not keep an unattended tablet signed in."""
    return conn.headers.get("x-boardround-background") == "1" or conn.url.path.endswith("/events")
