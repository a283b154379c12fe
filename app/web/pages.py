"""HTML responses for errors, sign-in redirects and the request-wide template context."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.sessions import BrowserSession
from app.web.htmx import is_htmx
from app.web.templating import render

TITLES = {
    400: "Something is wrong with that request",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That action is not available here",
    409: "Someone else changed this",
    413: "That was too much to send",
    422: "Check what you entered",
    428: "Reload and try again",
    500: "Sorry, there is a problem with the service",
    503: "Sorry, the service is unavailable",
}


def safe_next(target: str | None) -> str:
    """Only same-site relative paths: never redirect to another host after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def sign_in_redirect(request: Request) -> Response:
    """Send someone whose session has ended to sign in, and bring them back afterwards."""
    session: BrowserSession | None = getattr(request.state, "browser_session", None)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if is_htmx(request):
        current = request.headers.get("hx-current-url", "")
        parts = urlsplit(current)
        here = parts.path + (f"?{parts.query}" if parts.query else "") if parts.path else "/"
    if request.method != "GET" and not is_htmx(request):
        here = request.headers.get("referer", "/")
        here = urlsplit(here).path or "/"
    location = f"/sign-in?next={quote(safe_next(here), safe='')}"
    if session is not None and session.ended:
        location += f"&ended={session.ended}"
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def html_error(request: Request, status: int, error: dict[str, Any], headers: dict[str, str] | None) -> Response:
    if status == 401:
        return sign_in_redirect(request)
    context = {
        "status": status,
        "title": TITLES.get(status, "Sorry, there is a problem"),
        "message": error.get("message", ""),
        "fields": error.get("fields", []),
    }
    block = "error_content" if is_htmx(request) else None
    return render(request, "errors/error.html", context, block_name=block, status_code=status, headers=headers)


class TemplateContext:
    """Puts the CSP nonce and the CSRF token where every template can use them."""

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self.app = app
        self.secret = secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            state = scope.setdefault("state", {})
            session: BrowserSession | None = state.get("browser_session")
            state["template_context"] = {
                "csp_nonce": state.get("csp_nonce", ""),
                "csrf_token": session.csrf_token(self.secret) if session else "",
            }
        await self.app(scope, receive, send)
