"""A database call on the event loop blocks every request meanwhile: in tests and development it
fails loudly (app/db.py), so the whole suite, served by a real event loop, proves none is made."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import APIRouter
from sqlalchemy import text

from app.db import SessionDep
from app.main import create_app
from tests.dbs import settings_for

probe = APIRouter()


@probe.get("/test/loop/on-the-loop")
async def on_the_loop(session: SessionDep) -> dict:
    return {"one": session.execute(text("SELECT 1")).scalar_one()}


@probe.get("/test/loop/in-a-thread")
def in_a_thread(session: SessionDep) -> dict:
    return {"one": session.execute(text("SELECT 1")).scalar_one()}


def test_a_query_on_the_event_loop_fails_and_one_in_a_thread_runs(engine) -> None:
    app = create_app(settings_for(str(engine.url)))
    app.include_router(probe)

    async def scenario() -> tuple[int, int]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            blocked = await client.get("/test/loop/on-the-loop")
            threaded = await client.get("/test/loop/in-a-thread")
            return blocked.status_code, threaded.status_code

    assert asyncio.run(scenario()) == (500, 200)
    app.state.engine.dispose()
