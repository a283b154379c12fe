"""Live updates: tell every open board of a ward that something on it changed.

Events carry only ids (ward, stay) and never patient data; screens re-fetch their fragment
through the normal authorised routes. With several server processes on PostgreSQL, changes
fan out through LISTEN/NOTIFY: the NOTIFY is sent inside the writing transaction, so it is
delivered only if that transaction commits, to every process including the writer's. On SQLite
(one process) changes are published in process after the commit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session as OrmSession

from app.core import changes

log = logging.getLogger("boardround.live")
CHANNEL = "boardround_changes"


class ChangeFeed:
    def __init__(self) -> None:
        self._subscribers: dict[int, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict]]]] = {}
        self._lock = threading.Lock()

    def publish(self, event: dict[str, Any]) -> None:
        """Thread-safe: hand the event to every subscriber of its ward."""
        with self._lock:
            targets = list(self._subscribers.get(int(event.get("ward_id", 0)), ()))
        for loop, queue in targets:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, event)
            except RuntimeError:  # loop closed: the subscriber is gone
                pass

    @contextmanager
    def listen(self, ward_ids: int | Iterable[int]) -> Iterator[asyncio.Queue[dict[str, Any]]]:
        """A queue receiving changes on one ward, or on any of several (a sponsor's wards).

        Waiting on the queue can be cancelled (heartbeat timeouts) without ending the subscription.
        """
        wards = {ward_ids} if isinstance(ward_ids, int) else set(ward_ids)
        queue: asyncio.Queue[dict] = asyncio.Queue(maxsize=1000)
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            for ward_id in wards:
                self._subscribers.setdefault(ward_id, set()).add(entry)
        try:
            yield queue
        finally:
            with self._lock:
                for ward_id in wards:
                    self._subscribers.get(ward_id, set()).discard(entry)

    def subscriber_count(self, ward_id: int) -> int:
        with self._lock:
            return len(self._subscribers.get(ward_id, ()))


feed = ChangeFeed()


_TO_PUBLISH = "live_publish"


def install() -> None:
    """Announce committed change notices (app.core.changes) to open screens. Once per process."""
    for name, handler in (
        ("before_commit", _before_commit),
        ("after_commit", _after_commit),
        ("after_soft_rollback", _after_rollback),
    ):
        if not event.contains(OrmSession, name, handler):
            event.listen(OrmSession, name, handler)


def _before_commit(session: OrmSession) -> None:
    """Send NOTIFY inside the transaction on PostgreSQL; keep the notices to publish locally otherwise."""
    events = changes.take(session)
    if not events:
        return
    if session.get_bind().dialect.name == "postgresql":
        # One round trip for all of them (a transfer touches two wards).
        calls = ", ".join(f"pg_notify(:channel, :p{i})" for i in range(len(events)))
        params = {"channel": CHANNEL} | {f"p{i}": json.dumps(event) for i, event in enumerate(events)}
        session.execute(text(f"SELECT {calls}"), params)  # noqa: S608 - only bind-parameter names are formatted in
        return
    session.info[_TO_PUBLISH] = events


def _after_commit(session: OrmSession) -> None:
    for event_ in session.info.pop(_TO_PUBLISH, ()):
        feed.publish(event_)


def _after_rollback(session: OrmSession, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint within it
        changes.drop(session)
        session.info.pop(_TO_PUBLISH, None)


class PostgresListener:
    """One per process: LISTEN on the channel and feed notifications to local subscribers."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="boardround-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0, stop_after=100):
                            try:
                                feed.publish(json.loads(note.payload))
                            except ValueError:
                                log.warning("ignored a malformed change notification")
            except Exception as exc:  # noqa: BLE001 - keep listening after a dropped connection
                log.warning("change listener reconnecting after %s", type(exc).__name__)
                self._stop.wait(2)
