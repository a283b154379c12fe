"""Stored metrics days are built in the background, never by a page view (a GET never writes)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
from sqlmodel import Session, col, func, select

from app.core.clock import london_date
from app.metrics.stored.refresher import Refresher
from app.metrics.stored.ward_days import last_closed_day
from app.models import MetricsDay, MetricsStale
from tests import pages


def _stored_days(engine, ward_id: int) -> int:  # noqa: ANN001
    with Session(engine) as db:
        return db.exec(select(func.count()).select_from(MetricsDay).where(col(MetricsDay.ward_id) == ward_id)).one()


def test_the_refresher_stores_the_days_asked_for_in_its_own_session(process_engine, seeded) -> None:
    ward = seeded("nurse", patients=2)  # admitted three days ago: a late change, so marks too
    now = datetime.now(UTC)
    last = last_closed_day(now)
    first = last - timedelta(days=2)
    refresher = Refresher(process_engine)
    try:
        refresher.later([ward.ward_id], first, last)
        assert refresher.wait_idle(60), "the refresher did not finish"
    finally:
        refresher.stop()
    assert _stored_days(process_engine, ward.ward_id) == 3
    with Session(process_engine) as db:
        assert db.exec(select(MetricsStale)).first() is None  # marks read and built again


def test_a_page_view_has_the_server_store_the_days_in_the_background(app_process, process_engine, seeded) -> None:
    ward = seeded("flow_coordinator", patients=1)
    now = datetime.now(UTC)
    today, first = london_date(now), london_date(now) - timedelta(days=5)
    closed = (last_closed_day(now) - first).days + 1  # 5, or 4 in the ten minutes after midnight
    period = {"ward": ward.ward_code, "date_from": first.isoformat(), "date_to": today.isoformat()}
    with httpx.Client(base_url=app_process.base_url, timeout=30) as browser:
        assert pages.sign_in(browser, ward.username).status_code == 303
        assert _stored_days(process_engine, ward.ward_id) == 0
        assert browser.get("/metrics", params=period).status_code == 200
    # The server's refresher stores the closed days of the period soon after, in its own thread.
    deadline = time.monotonic() + 30
    while _stored_days(process_engine, ward.ward_id) < closed and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _stored_days(process_engine, ward.ward_id) == closed
