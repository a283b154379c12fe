"""The round step's red/green indicator follows the criteria-to-reside answer live, in Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import choose_day

pytestmark = pytest.mark.browser


def test_red_green_indicator_changes_live_with_the_ctr_answer(
    seed_ward, past_reviews, user_with_password, signed_in_page
):
    ward = seed_ward(beds=1, patients=1)
    (stay_id,) = ward.stay_ids
    past_reviews(ward, [stay_id], plan="Mobilise with physio")  # yesterday: meets criteria
    nurse = user_with_password("nurse", [ward], display_name="Nurse Live")
    page = signed_in_page(nurse, next_=f"/wards/{ward.code}")
    page.get_by_role("button", name="Start midday board round").click()
    page.locator("#start-round").click()
    expect(page).to_have_url(re.compile(rf"/rounds/\d+/stays/{stay_id}$"))

    status = page.locator("#red-green-status")
    expect(status).to_have_attribute("data-status", "green")
    expect(status).to_contain_text("Green day")
    page.get_by_label("No criteria to reside", exact=True).check()
    expect(status).to_have_attribute("data-status", "red")
    expect(status).to_contain_text("No criteria to reside")
    page.locator("#delay_reason_code").select_option("IP03")
    expect(status).to_contain_text("(IP03)")
    choose_day(page, "Green day")
    expect(status).to_contain_text("overridden")
    page.get_by_label("Meets criteria", exact=True).check()
    expect(status).to_have_attribute("data-status", "green")
    expect(status).not_to_contain_text("overridden")
