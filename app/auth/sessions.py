"""Browser sessions in a signed cookie (HttpOnly, SameSite=Lax, Secure over HTTPS).

The cookie carries the user id, a random session id (the CSRF secret is derived from it), the
sign-in time, the last activity time and a fingerprint of the password hash, so a password reset
ends every session. Idle sessions end after `session_idle_minutes` (shared ward tablets), and
every session after `session_max_hours` however active (a ward shift). Signing out ends the
user's sessions signed in before it (`User.sessions_valid_after`, checked in app/auth/deps.py).

Session times are wall-clock seconds (time.time()), not the app's clock, which tests freeze.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings

COOKIE = "boardround_session"

# Why a signed-in session ended, shown on the sign-in page (`?ended=`).
IDLE = "idle"
LIFETIME = "lifetime"
SIGNED_OUT = "signed_out"  # the user signed out, on this device or another


@dataclass
class BrowserSession:
    sid: str
    user_id: int | None = None
    signed_in_at: float | None = None
    seen_at: float = 0.0
    pw: str = ""  # fingerprint of the password hash at sign-in
    ended: str | None = None  # why a signed-in session just ended (IDLE...): the user is told
    changed: bool = False

    def csrf_token(self, secret: str) -> str:
        return hmac.new(secret.encode(), f"csrf:{self.sid}".encode(), hashlib.sha256).hexdigest()

    def sign_in(self, user_id: int, password_hash: str | None, now: float) -> None:
        # A new session id on sign-in: a session fixed before sign-in is useless afterwards.
        self.sid = secrets.token_urlsafe(24)
        self.user_id = user_id
        self.signed_in_at = now
        self.seen_at = now
        self.pw = password_fingerprint(password_hash)
        self.ended = None
        self.changed = True

    def sign_out(self, reason: str | None = None) -> None:
        if self.user_id is not None and reason is not None:
            self.ended = reason
        self.sid = secrets.token_urlsafe(24)
        self.user_id = None
        self.signed_in_at = None
        self.pw = ""
        self.changed = True


def password_fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def _new() -> BrowserSession:
    return BrowserSession(sid=secrets.token_urlsafe(24), changed=True)


class SessionMiddleware:
    """Loads the session into `request.state.browser_session` and writes it back when needed."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.serializer = URLSafeSerializer(settings.secret_key, salt="boardround.session")
        self.idle_seconds = settings.session_idle_minutes * 60
        self.max_seconds = settings.session_max_hours * 3600

    def load(self, raw: str | None, now: float) -> BrowserSession:
        if not raw:
            return _new()
        try:
            data = self.serializer.loads(raw)
            session = BrowserSession(
                sid=str(data["sid"]),
                user_id=data.get("uid"),
                signed_in_at=None if data.get("iat") is None else float(data["iat"]),
                seen_at=float(data.get("seen", 0)),
                pw=str(data.get("pw", "")),
            )
        except (BadSignature, KeyError, TypeError, ValueError):
            return _new()
        if session.user_id is not None:
            if now - session.seen_at > self.idle_seconds:
                session.sign_out(IDLE)
            elif session.signed_in_at is None or now - session.signed_in_at > self.max_seconds:
                # However active: a cookie copied or left signed in does not last beyond a shift.
                session.sign_out(LIFETIME)
        return session

    def dump(self, session: BrowserSession) -> str:
        return self.serializer.dumps(
            {
                "sid": session.sid,
                "uid": session.user_id,
                "iat": session.signed_in_at,
                "seen": session.seen_at,
                "pw": session.pw,
            }
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        now = time.time()
        session = self.load(conn.cookies.get(COOKIE), now)
        bearer = conn.headers.get("authorization", "").lower().startswith("bearer ")
        if session.user_id is not None and not bearer and not _is_background(conn):
            # Activity keeps the session alive; refresh the cookie at most once a minute.
            if now - session.seen_at > 60:
                session.seen_at = now
                session.changed = True
        scope.setdefault("state", {})
        scope["state"]["browser_session"] = session
        scope["state"]["session_user_id"] = None if bearer else session.user_id

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
