"""Alert notices move the header's count and nothing else: boards and ladders never refresh for them."""

from __future__ import annotations

import asyncio
import contextlib
import json

from sqlalchemy.orm import Session

from app.core import changes
from app.web import live
from app.web.sse import change_stream


class _Connected:
    async def is_disconnected(self) -> bool:
        return False


async def _events(kind: str | None, published: list[dict]) -> list[dict]:
    """What a stream on ward 9001 passes on when `published` are announced."""
    response = change_stream(_Connected(), [9001], "changed", kind=kind)  # type: ignore[arg-type]
    body = response.body_iterator
    assert (await anext(body)).startswith(b"retry:")
    reading = asyncio.ensure_future(anext(body))
    await asyncio.sleep(0)  # the stream subscribes before it waits
    for event in published:
        live.feed.publish(event)
    seen: list[dict] = []
    while True:
        try:
            chunk = await asyncio.wait_for(asyncio.shield(reading), timeout=0.5)
        except TimeoutError:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await reading  # the stream unsubscribes as it ends
            break
        text = chunk.decode() if isinstance(chunk, bytes) else chunk
        seen.append(json.loads(text.split("data: ", 1)[1]))
        reading = asyncio.ensure_future(anext(body))
    return seen


def test_streams_pass_alert_notices_only_to_the_alert_count():
    alert = {"ward_id": 9001, "stay_id": 5, "kind": changes.ALERT}
    stay = {"ward_id": 9001, "stay_id": 6, "kind": "stay"}
    assert [e["stay_id"] for e in asyncio.run(_events(None, [alert, stay]))] == [6]  # a board
    assert [e["stay_id"] for e in asyncio.run(_events(changes.ALERT, [alert, stay]))] == [5]  # the header


def test_an_alert_and_a_change_to_the_same_stay_are_both_announced():
    session = Session()
    changes.note(session, ward_id=1, stay_id=2)
    changes.note(session, ward_id=1, stay_id=2, kind=changes.ALERT)
    changes.note(session, ward_id=1, stay_id=3, kind=changes.ALERT)
    changes.note(session, ward_id=1, stay_id=3)
    assert sorted((n["stay_id"], n["kind"]) for n in changes.take(session)) == [
        (2, "alert"),
        (2, "stay"),
        (3, "alert"),
        (3, "stay"),
    ]


def test_notices_a_stream_filters_out_do_not_hold_back_its_heartbeat(monkeypatch):
    """A board must hear a heartbeat on time even while alert notices keep arriving: they are
    not sent to it, so they must not count as the stream being heard."""
    from app.web import sse

    monkeypatch.setattr(sse, "HEARTBEAT_SECONDS", 0.3)

    async def run() -> bytes | None:
        response = change_stream(_Connected(), [9001], "changed")  # type: ignore[arg-type]
        body = response.body_iterator
        assert (await anext(body)).startswith(b"retry:")
        reading = asyncio.ensure_future(anext(body))
        await asyncio.sleep(0)
        for _ in range(20):  # an alert notice every 0.1 s for 2 s, far past the 0.3 s beat
            live.feed.publish({"ward_id": 9001, "stay_id": 5, "kind": changes.ALERT})
            await asyncio.sleep(0.1)
            if reading.done():
                chunk = reading.result()
                return chunk if isinstance(chunk, bytes) else chunk.encode()
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await reading
        return None  # nothing heard while the notices flowed

    assert asyncio.run(run()) == sse.HEARTBEAT
