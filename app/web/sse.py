"""Server-sent event streams carrying only ids, for screens that refresh themselves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable

from fastapi import Request
from fastapi.responses import StreamingResponse

from app.web import live

# A stream closes after this long so the browser reconnects and is re-authenticated.
STREAM_SECONDS = 10 * 60
HEARTBEAT_SECONDS = 15


def change_stream(request: Request, ward_ids: Iterable[int], event_name: str) -> StreamingResponse:
    wards = set(ward_ids)

    async def stream() -> AsyncIterator[bytes]:
        yield b"retry: 2000\n\n"
        with live.feed.listen(wards) as changes:
            deadline = asyncio.get_running_loop().time() + STREAM_SECONDS
            while asyncio.get_running_loop().time() < deadline:
                if await request.is_disconnected():
                    break
                try:
                    event = await asyncio.wait_for(changes.get(), timeout=HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                payload = json.dumps(
                    {"ward_id": event.get("ward_id"), "stay_id": event.get("stay_id"), "kind": event.get("kind")}
                )
                yield f"event: {event_name}\ndata: {payload}\n\n".encode()

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})
