"""CSRF protection for every state-changing request that a browser could send with our cookie.

The token is derived from the session id (see BrowserSession.csrf_token). Forms send it in a
hidden `csrf_token` field; htmx sends it in the `X-CSRF-Token` header (set once on <body> with
hx-headers). Requests authenticated by a bearer token carry no cookie authority and are exempt.
"""

from __future__ import annotations

import hmac
import json
import re
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.sessions import BrowserSession
from app.web.pages import sign_in_redirect

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
HEADER = b"x-csrf-token"
# Called server to server by the identity provider, never by a browser: no cookie, no form
# from us. Authenticated by the signed logout token it carries (app/auth/oidc.py).
EXEMPT_PATHS = frozenset({"/auth/oidc/back-channel-logout"})
FIELD = "csrf_token"
# The hidden field in a multipart form (a file upload): its part's body, up to the boundary.
_MULTIPART_FIELD = re.compile(rb'name="csrf_token"\r\n(?:[^\r\n]+\r\n)*\r\n([^\r\n]*)\r\n')


class CSRFMiddleware:
    def __init__(self, app: ASGIApp, secret: str, max_body_bytes: int) -> None:
        self.app = app
        self.secret = secret
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        if headers.get(b"authorization", b"").lower().startswith(b"bearer "):
            await self.app(scope, receive, send)
            return
        session: BrowserSession | None = scope.get("state", {}).get("browser_session")
        if scope["path"].startswith("/api/") and (session is None or not session.signed_in):
            # No cookie authority to abuse: the API will answer 401 on its own.
            await self.app(scope, receive, send)
            return
        expected = session.csrf_token(self.secret) if session else None
        supplied = headers.get(HEADER, b"").decode("latin-1")
        body_chunks: list[bytes] = []
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip()
        if not supplied and content_type in (b"application/x-www-form-urlencoded", b"multipart/form-data"):
            # Read the (size-limited) body to find the hidden field, then replay it downstream.
            more = True
            size = 0
            while more:
                message = await receive()
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body_bytes:
                    break
                body_chunks.append(chunk)
                more = message.get("more_body", False)
            body = b"".join(body_chunks)
            if content_type == b"multipart/form-data":
                found = _MULTIPART_FIELD.search(body)
                supplied = found.group(1).decode("latin-1") if found else ""
            else:
                form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=1000)
                supplied = (form.get(FIELD) or [""])[0]
        if not expected or not supplied or not hmac.compare_digest(expected, supplied):
            if session is not None and session.ended and not scope["path"].startswith("/api/"):
                # The session ended (idle, or its lifetime) while the form was open: the token
                # went with it. Not "forbidden": say so, and send the tablet to sign in again.
                await sign_in_redirect(Request(scope))(scope, receive, send)
                return
            await _refuse(scope, send)
            return
        if body_chunks:
            replay = [{"type": "http.request", "body": b"".join(body_chunks), "more_body": False}]

            async def replay_receive() -> Message:
                return replay.pop(0) if replay else await receive()

            await self.app(scope, replay_receive, send)
        else:
            await self.app(scope, receive, send)


async def _refuse(scope: Scope, send: Send) -> None:
    path = scope.get("path", "")
    message = "This form has expired or did not come from Boardround. Go back, reload the page and try again."
    if path.startswith("/api/"):
        body = json.dumps({"error": {"code": "csrf_failed", "message": message, "fields": []}}).encode()
        content_type = b"application/json"
    else:
        body = (
            '<!DOCTYPE html><html lang="en"><head><title>Form expired - Boardround</title></head>'
            f'<body><main><h1>Form expired</h1><p>{message}</p><p><a href="/">Go to Boardround</a></p>'
            "</main></body></html>"
        ).encode()
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
