"""Live updates: the change feed, PostgreSQL LISTEN/NOTIFY fan-out and the SSE stream."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session

from app.core import changes
from app.web import live
from tests import factories


def test_feed_reaches_only_that_wards_subscribers():
    async def scenario():
        feed = live.ChangeFeed()
        with feed.listen(1) as ward_1, feed.listen([2, 3]) as wards_2_3:
            # A cancelled wait (the stream's heartbeat timeout) must not end the subscription.
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ward_1.get(), 0.01)
            feed.publish({"ward_id": 1, "stay_id": 7, "kind": "stay"})
            assert (await asyncio.wait_for(ward_1.get(), 1)) == {"ward_id": 1, "stay_id": 7, "kind": "stay"}
            assert wards_2_3.empty()
            feed.publish({"ward_id": 3, "stay_id": 8, "kind": "stay"})
            assert (await asyncio.wait_for(wards_2_3.get(), 1))["stay_id"] == 8
        assert feed.subscriber_count(1) == 0

    asyncio.run(scenario())


def test_postgres_notify_is_fanned_out_after_commit(backend, engine):
    if backend != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite publishes in process (next test)")
    received: list[dict] = []
    ward_id = 987654  # no rows are written: only the notification travels

    async def wait_for_event() -> None:
        with live.feed.listen(ward_id) as changes:
            received.append(await asyncio.wait_for(changes.get(), 5))

    listener = live.PostgresListener(engine.url.set(drivername="postgresql").render_as_string(hide_password=False))
    listener.start()
    try:
        loop = asyncio.new_event_loop()
        task = loop.create_task(wait_for_event())
        loop.run_until_complete(asyncio.sleep(1.0))  # let LISTEN start
        with Session(engine) as session:
            changes.note(session, ward_id=ward_id, stay_id=42)
            session.execute(text("SELECT 1"))
            session.rollback()  # rolled back: nothing must be delivered
        with Session(engine) as session:
            changes.note(session, ward_id=ward_id, stay_id=43)
            session.commit()  # the NOTIFY rides in the transaction
        loop.run_until_complete(task)
        loop.close()
    finally:
        listener.stop()
    assert received == [{"ward_id": ward_id, "stay_id": 43, "kind": "stay"}]


def test_board_stream_announces_changes_over_http(
    db, backend, api, live_server, ward, nurse, nurse_principal, password_hash
):
    if backend != "sqlite":
        pytest.skip("in the rolled-back test transaction PostgreSQL never delivers NOTIFY; the browser tests cover it")
    from tests.pages import Browser, sign_in

    stay = factories.make_stay(db, nurse_principal, ward, factories.beds_of(db, ward)[0])
    nurse.password_hash = password_hash
    db.flush()
    browser = Browser(live_server)
    assert sign_in(browser.client, nurse.username).status_code == 303
    lines: list[str] = []
    content_types: list[str] = []  # checked here: an assert in the thread would not fail the test

    def listen() -> None:
        with browser.client.stream("GET", f"/wards/{ward.code}/events", timeout=10) as response:
            content_types.append(response.headers["content-type"])
            for line in response.iter_lines():
                lines.append(line)
                # Heartbeats (`event: heartbeat`, every few seconds and at once) come between changes.
                if line.startswith("data:") and len(lines) > 1 and lines[-2] == "event: board-changed":
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while live.feed.subscriber_count(ward.id) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    r = api.put(f"/stays/{stay.id}/edd", json={"expected_discharge_date": "2026-03-12", "version": stay.version})
    assert r.status_code == 200
    thread.join(timeout=5)
    browser.close()
    assert content_types and content_types[0].startswith("text/event-stream")
    assert "event: board-changed" in lines
    assert lines[:4] == ["retry: 2000", "", "event: heartbeat", "data: 1"], "the stream is heard at once"
    data = json.loads(lines[lines.index("event: board-changed") + 1][5:])
    assert data == {"ward_id": ward.id, "stay_id": stay.id, "kind": "stay"}  # ids only: no patient data


def test_stream_needs_sign_in(live_server, ward):
    r = httpx.get(f"{live_server}/wards/{ward.code}/events", follow_redirects=False)
    assert r.status_code == 303
