"""Builds stored metrics days in the background, off the request path.

A page view that finds days missing or made stale by a late change does not build them itself
(a GET never writes): it asks the refresher, and meanwhile works those figures out from the facts.
The refresher builds in a thread of its own, with a session of its own, one refresh at a time;
requests that arrive while it works are gathered into the next refresh. It also sweeps every few
minutes: rows made stale by late changes are built again, and yesterday is stored for every ward,
so the default page reads stored days. docs/adr/0006-stored-metrics-days.md.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from datetime import date, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.core.clock import utcnow
from app.metrics.stored import ward_days
from app.models import Ward

log = logging.getLogger("boardround.metrics.refresher")

SWEEP_SECONDS = 5 * 60

# What a view calls when stored days are missing or stale: (wards, first day, last day).
RefreshLater = Callable[[Collection[int], date, date], None]


def nothing_later(_wards: Collection[int], _first: date, _last: date) -> None:
    """For an app that builds no stored days in the background (tests; the CLI builds ahead)."""


class Refresher:
    def __init__(self, engine: Engine, *, now: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.now = now
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stop = threading.Event()
        self._wards: set[int] = set()
        self._first: date | None = None
        self._last: date | None = None
        self._thread: threading.Thread | None = None

    def later(self, wards: Collection[int], first: date, last: date) -> None:
        """Build these wards' days from `first` to `last` soon (thread-safe, returns at once)."""
        with self._lock:
            self._wards |= set(wards)
            self._first = first if self._first is None else min(self._first, first)
            self._last = last if self._last is None else max(self._last, last)
            self._idle.clear()
        self._start()
        self._wake.set()

    def start_sweeping(self) -> None:
        self._start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is asked for or being built (tests, the CLI)."""
        return self._idle.wait(timeout)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="metrics-refresher", daemon=True)
                self._thread.start()

    def _take(self) -> tuple[set[int], date, date] | None:
        with self._lock:
            if self._first is None or self._last is None:
                return None
            asked = (self._wards, self._first, self._last)
            self._wards, self._first, self._last = set(), None, None
            return asked

    def _run(self) -> None:
        while not self._stop.is_set():
            asked = self._take()
            try:
                if asked is not None:
                    self._refresh(*asked)
                elif not self._wake.wait(SWEEP_SECONDS):
                    self._sweep()
            except Exception:  # noqa: BLE001 - the next request or sweep tries again
                log.exception("metrics refresh failed")
            with self._lock:
                if self._first is None:
                    self._wake.clear()
                    self._idle.set()

    def _refresh(self, wards: Collection[int], first: date, last: date) -> None:
        with Session(self.engine, expire_on_commit=False) as session:
            ward_days.refresh(session, wards, first, last, now=self.now())

    def _sweep(self) -> None:
        """Stale rows built again; yesterday stored for every active ward."""
        now = self.now()
        yesterday = ward_days.last_closed_day(now)
        with Session(self.engine, expire_on_commit=False) as session:
            wards = list(session.exec(select(Ward.id).where(col(Ward.is_active))))
            ward_days.refresh(session, wards, yesterday - timedelta(days=1), yesterday, now=now)
