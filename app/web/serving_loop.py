"""Mark the event loop that serves HTTP, so a database call made on it is caught (app/db.py)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from app.db import note_serving_loop


class ServingLoop:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        note_serving_loop()
        await self.app(scope, receive, send)
