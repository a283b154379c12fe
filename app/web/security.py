"""Security headers on every response, with a per-request CSP nonce for the NHS page template."""

from __future__ import annotations

import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(nonce: str, form_targets: tuple[str, ...] = ()) -> str:
    """`form_targets`: other origins a form may lead to. Signing out after single sign-on
    redirects the sign-out form to the identity provider's logout, which form-action governs."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "manifest-src 'self'",
            "worker-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            " ".join(["form-action 'self'", *form_targets]),
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts: bool, form_targets: tuple[str, ...] = ()) -> None:
        self.app = app
        self.hsts = hsts
        self.form_targets = form_targets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        is_static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control" or is_static]
                existing = {k.lower() for k, _ in headers}
                add = [
                    (b"content-security-policy", content_security_policy(nonce, self.form_targets).encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"cross-origin-resource-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
                ]
                if not is_static:
                    # Patient data: never stored by shared proxies or the browser's disk cache.
                    add.append((b"cache-control", b"no-store"))
                    add.append((b"pragma", b"no-cache"))
                if self.hsts:
                    add.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                headers.extend((k, v) for k, v in add if k not in existing)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
