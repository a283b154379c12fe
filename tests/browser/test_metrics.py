"""The metrics page in a real Chromium: accessible on a tablet and a phone, and a folded daily table
fetched when it is opened (htmx), with the keyboard as well as a tap."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    VIEWPORTS,
    assert_no_axe_violations,
    assert_no_console_errors,
    assert_no_horizontal_scroll,
    assert_touch_targets,
)

pytestmark = pytest.mark.browser


def test_ward_manager_reads_the_metrics_and_opens_a_daily_table(seed_ward, user_with_password, signed_in_page):
    ward = seed_ward(beds=3, patients=2)
    manager = user_with_password("ward_manager", [ward])
    page = signed_in_page(manager, next_=f"/metrics?ward={ward.code}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Flow metrics")
    expect(page.locator("h1 .nhsuk-caption-l")).to_contain_text(ward.name)
    assert_no_axe_violations(page)
    assert_touch_targets(page)
    # The daily table's rows are not on the page until the fold is opened.
    expect(page.locator("#table-nctr-by-day")).to_have_count(0)
    page.locator("#details-nctr-by-day summary").click()
    table = page.locator("#numbers-nctr-by-day #table-nctr-by-day")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(28)  # the default period: the last 28 days
    # By keyboard: focus the next fold's summary and open it with Enter.
    page.locator("#details-long-stays-by-day summary").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#numbers-long-stays-by-day #table-long-stays-by-day")).to_be_visible()
    assert_no_axe_violations(page)
    assert_no_console_errors(page)

    page.set_viewport_size(VIEWPORTS["phone"])
    assert_no_horizontal_scroll(page)
    assert_no_axe_violations(page)
    assert_no_console_errors(page)


def test_flow_overview_is_accessible_on_a_tablet_and_a_phone(seed_ward, user_with_password, signed_in_page):
    ward = seed_ward(beds=3, patients=2)
    manager = user_with_password("ward_manager", [ward])
    page = signed_in_page(manager, next_="/flow")
    expect(page.get_by_role("heading", level=1)).to_contain_text("flow")
    expect(page.locator("main")).to_contain_text(ward.name)
    assert_no_axe_violations(page)
    assert_touch_targets(page)
    assert_no_console_errors(page)
    page.set_viewport_size(VIEWPORTS["phone"])
    assert_no_horizontal_scroll(page)
    assert_no_axe_violations(page)
