"""Alerts in a real browser: the header's count comes live, the pages pass axe at tablet and phone
size, marking read and settings work with a touch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlmodel import Session

from app.alerts.service import create_due_alerts
from app.models import Stay, User
from tests import factories
from tests.browser.helpers import (
    VIEWPORTS,
    assert_no_axe_violations,
    assert_no_horizontal_scroll,
    assert_touch_targets,
)

pytestmark = pytest.mark.browser


def _overdue_action(engine, ward, user) -> None:
    """What `boardround alerts run` would find and make, from another process (as cron does)."""
    now = datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as db:
        actor = factories.principal(db, db.get(User, user.id))
        stay = db.get(Stay, ward.stay_ids[0])
        factories.make_action(db, actor, stay, due_at=now - timedelta(hours=1), now=now - timedelta(hours=3))
        create_due_alerts(db, now=now)
        db.commit()


def test_the_header_count_arrives_live_and_the_pages_work(
    seed_ward, user_with_password, signed_in_page, browser_engine
):
    ward = seed_ward(beds=2, patients=1)
    nurse = user_with_password("nurse", [ward], display_name="Nurse Alerted")
    page = signed_in_page(nurse, next_=f"/wards/{ward.code}")
    count = page.locator("#alert-count")
    expect(count).to_have_text("Alerts")
    if browser_engine.dialect.name == "postgresql":
        # Wait for the stream, then the alert is made by another process: LISTEN/NOTIFY carries it.
        page.wait_for_function(
            """() => { const el = document.getElementById("alert-live");
                       const d = el && el["htmx-internal-data"];
                       return Boolean(d && d.sseEventSource && d.sseEventSource.readyState === 1); }"""
        )
        _overdue_action(browser_engine, ward, nurse)
        expect(count).to_contain_text("1", timeout=5_000)
    else:
        # SQLite has no notifications between processes: the next page shows it (docs/alerts.md).
        _overdue_action(browser_engine, ward, nurse)
        page.reload()
        expect(page.locator("#alert-count")).to_contain_text("1")

    page.locator("#alert-count").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alerts")
    expect(page.locator("#alerts")).to_contain_text("Action overdue")
    assert_no_axe_violations(page)
    assert_touch_targets(page)
    page.set_viewport_size(VIEWPORTS["phone"])
    assert_no_horizontal_scroll(page)
    page.set_viewport_size(VIEWPORTS["tablet"])

    page.get_by_role("button", name="Mark as read").first.click()
    expect(page.locator("#alerts-unread")).to_have_text("0 unread")
    expect(page.locator("#alert-count")).to_have_text("Alerts")

    page.get_by_role("link", name="Choose what you receive").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alert settings")
    assert_no_axe_violations(page)
    assert_touch_targets(page)
    page.get_by_label("Email address for alerts").fill("nurse.alerted@nhs.net")
    page.get_by_role("group", name="Actions overdue").get_by_label("In Boardround only").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-saved")).to_have_text("Alert settings saved")
    page.set_viewport_size(VIEWPORTS["phone"])
    assert_no_horizontal_scroll(page)
