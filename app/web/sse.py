"""Server-sent event streams carrying only ids, for screens that refresh themselves.

A stream route looks up what it may watch (one short trip to the database, in a worker thread,
after `stream_turn`), calls `watching` to give back its session, then returns `change_stream`,
which holds no connection, no thread and no place at the database gate while it is open.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Iterable

from fastapi import Depends, Request
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from app.core import changes
from app.db import DatabaseGate, release_session
from app.web import live

# How many streams may look up their scope at once. After a restart every screen reconnects
# together; taking turns leaves the rest of the database gate to people's own requests.
STREAMS_LOOKING_UP = 2

# A stream closes after this long so the browser reconnects and is re-authenticated.
STREAM_SECONDS = 10 * 60
# A tiny `heartbeat` event this often, so an open screen knows the stream is alive: boards say
# they are out of date when they have heard nothing for 10 s (static/js/board.js, docs/adr/0013). A named event,
# not an SSE comment, because EventSource hands comments to no one.
HEARTBEAT_SECONDS = 4
HEARTBEAT = b"event: heartbeat\ndata: 1\n\n"


stream_gate = DatabaseGate(STREAMS_LOOKING_UP)


async def _stream_turn(request: Request) -> AsyncIterator[None]:
    place = await stream_gate.enter()
    request.state.stream_place = place
    try:
        yield
    finally:
        place.leave()  # on an error before `watching`; otherwise it has left already


# Put first in a stream route's decorator: `dependencies=[StreamTurn]`.
StreamTurn = Depends(_stream_turn)


async def watching(request: Request, session: Session) -> None:
    """The lookup is done: give back the session and the turn before the stream starts."""
    await release_session(session)
    request.state.stream_place.leave()


def change_stream(
    request: Request, ward_ids: Iterable[int], event_name: str, *, kind: str | None = None
) -> StreamingResponse:
    """Changes on these wards as `event_name` events: of one `kind` only, or (no kind) every
    change but alerts, which move the header's alert count and change no board."""
    wards = set(ward_ids)

    def wanted(event: dict) -> bool:
        return event.get("kind") == kind if kind is not None else event.get("kind") != changes.ALERT

    async def stream() -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        with live.feed.listen(wards) as changes:
            # Listening before the first byte: a screen that sees the stream open misses no change.
            yield b"retry: 2000\n\n" + HEARTBEAT  # heard at once: the screen is live again
            deadline = loop.time() + STREAM_SECONDS

            # Counted from the last thing sent, so events this stream filters out cannot starve it.
            # Each stream beats a little before its interval, at its own moment: screens that
            # reconnected together (a restart) must not all be written to in the same instant.
            def next_beat() -> float:
                return loop.time() + HEARTBEAT_SECONDS * random.uniform(0.5, 1.0)  # noqa: S311 - spacing, not secrecy

            beat_due = next_beat()
            while loop.time() < deadline:
                if await request.is_disconnected():
                    break
                try:
                    event = await asyncio.wait_for(changes.get(), timeout=max(0.0, beat_due - loop.time()))
                except TimeoutError:
                    yield HEARTBEAT
                    beat_due = next_beat()
                    continue
                if not wanted(event):
                    continue
                beat_due = next_beat()
                payload = json.dumps(
                    {"ward_id": event.get("ward_id"), "stay_id": event.get("stay_id"), "kind": event.get("kind")}
                )
                yield f"event: {event_name}\ndata: {payload}\n\n".encode()

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})
