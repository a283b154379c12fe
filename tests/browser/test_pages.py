"""First browser tests: sign-in, the start page, the audit viewer and the admin user pages.

Each page is checked in a real Chromium for WCAG 2.2 A/AA (axe-core), touch target size,
reflow at 320 px, keyboard use and browser errors (console, CSP).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    VIEWPORTS,
    assert_no_axe_violations,
    assert_no_console_errors,
    assert_no_horizontal_scroll,
    assert_touch_targets,
    path_of,
)

pytestmark = pytest.mark.browser

# Controls reported as smaller than 44 x 44 CSS px (each with a proposed fix), not fixed yet.
# Strict: once one is fixed, assert_touch_targets says to remove its entry.
KNOWN_SMALL_TARGETS: dict[str, str] = {}
# Pages that scroll sideways at 320 px. Strict like the above.
KNOWN_NO_REFLOW: dict[str, str] = {}


@pytest.mark.parametrize("viewport", ["tablet", "phone"])
def test_sign_in_page_is_accessible_and_fits_the_screen(new_page, viewport):
    page = new_page(viewport)
    page.goto("/sign-in")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Boardround")
    assert page.viewport_size["width"] == {"tablet": 1024, "phone": 320}[viewport]
    assert_no_axe_violations(page)
    assert_no_horizontal_scroll(page)
    assert_touch_targets(page, known=KNOWN_SMALL_TARGETS)
    assert_no_console_errors(page)


def test_nurse_signs_in_and_sees_only_their_wards(seed_ward, user_with_password, new_page):
    ward, other_ward = seed_ward(beds=4, patients=2), seed_ward(beds=2)
    elsewhere = seed_ward(beds=2)
    # Two wards: with only one, "/" goes straight to that ward's board.
    nurse = user_with_password("nurse", [ward, other_ward])
    page = new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=%2F$"))

    page.get_by_label("Username").fill(nurse.username)
    page.locator("#password").fill(nurse.password)
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your wards")
    assert path_of(page) == "/"
    expect(page.locator("#ward-list")).to_contain_text(ward.name)
    expect(page.locator("#ward-list")).to_contain_text(other_ward.name)
    expect(page.locator("#ward-list")).not_to_contain_text(elsewhere.name)
    expect(page.locator("header")).to_contain_text(nurse.display_name)
    assert_no_axe_violations(page)
    assert_touch_targets(page, known=KNOWN_SMALL_TARGETS)
    assert_no_console_errors(page)


def test_wrong_password_shows_the_error_summary_and_the_keyboard_gets_you_in(user_with_password, new_page):
    nurse = user_with_password("nurse")
    page = new_page()
    page.goto("/sign-in")
    # Keyboard only from here: the skip link comes first and takes you into the page.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "username":
            break
    expect(page.locator("#username")).to_be_focused()
    page.keyboard.type(nurse.username)
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    page.keyboard.type("not the password")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(page).to_have_title(re.compile(r"^Error: Sign in"))
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text("Enter a correct username and password")
    # The NHS error summary takes focus, so a screen reader reads it out first.
    expect(summary).to_be_focused()
    assert_no_axe_violations(page)

    page.keyboard.press("Tab")
    expect(summary.get_by_role("link")).to_be_focused()
    page.keyboard.press("Enter")  # the error's link takes you to the field
    expect(page.locator("#username")).to_be_focused()
    expect(page.locator("#username")).to_have_value(nurse.username)
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    page.keyboard.type(nurse.password)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Your wards")
    assert path_of(page) == "/"
    assert_no_console_errors(page)


def test_audit_filter_by_nhs_number_keeps_it_out_of_the_address_and_the_log(
    seed_ward, user_with_password, signed_in_page, browser_engine, app_server
):
    from sqlmodel import Session

    from app.models import Patient

    ward = seed_ward(beds=2, patients=2)
    with Session(browser_engine) as db:
        patient, other = (db.get(Patient, i) for i in ward.patient_ids)
    log_from = app_server.log_size()
    page = signed_in_page(user_with_password("ward_manager", [ward]), next_="/audit")
    page.get_by_label("Patient").fill(patient.nhs_number)
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile(rf"/audit\?patient_id={patient.id}$"))
    expect(page.get_by_label("Patient")).to_have_value(re.compile(r"^\d{3} \d{3} \d{4}$"))
    events = page.locator("#audit-events")
    expect(events).to_contain_text(patient.family_name.upper())
    expect(events).not_to_contain_text(other.family_name.upper())
    assert_no_console_errors(page)
    page.go_back()  # the page before the filter, not a "resubmit the form?" prompt
    expect(page).to_have_url(re.compile(r"/audit$"))
    log = app_server.log_since(log_from)
    assert "POST /audit" in log and patient.nhs_number not in log and patient.mrn not in log


@pytest.mark.parametrize(
    ("role", "path", "heading"),
    [
        ("ward_manager", "/audit", "Audit trail"),
        ("admin", "/admin/users", "Users"),
        ("admin", "/admin/users/new", "Add a user"),
    ],
)
def test_admin_pages_are_accessible_on_a_tablet_and_a_phone(
    seed_ward, user_with_password, signed_in_page, role, path, heading
):
    ward = seed_ward(beds=3, patients=1)  # gives the audit trail and the ward list something to show
    user = user_with_password(role, [ward] if role == "ward_manager" else [])
    page = signed_in_page(user, next_=path)
    assert path_of(page) == path
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    if path == "/audit":
        expect(page.locator("#audit-events")).to_contain_text("Seed Data")
    assert_no_axe_violations(page)
    assert_touch_targets(page, known=KNOWN_SMALL_TARGETS)
    assert_no_console_errors(page)

    page.set_viewport_size(VIEWPORTS["phone"])
    if path in KNOWN_NO_REFLOW:
        with pytest.raises(AssertionError, match="scrolls sideways"):  # fixed? remove it from KNOWN_NO_REFLOW
            assert_no_horizontal_scroll(page)
    else:
        assert_no_horizontal_scroll(page)
    assert_no_axe_violations(page)
    assert_touch_targets(page, known=KNOWN_SMALL_TARGETS)
    assert_no_console_errors(page)
