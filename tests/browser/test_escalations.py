"""A blocker escalated on the ward reaches the executive sponsor's phone live, and back.

A nurse on a ward tablet escalates from the patient page; the ward's executive sponsor has
/escalations open on a phone (375 x 667) and sees it arrive without reloading (server-sent
event "escalations-changed" from /escalations/events, then htmx re-fetches the list), opens
it, resolves it with an outcome, and the nurse sees that outcome on the patient page.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import assert_no_axe_violations, assert_no_console_errors, assert_touch_targets
from tests.browser.seeding import KNOWN_SMALL_TARGETS, patient_names

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 667}
ARRIVES_WITHIN_MS = 3_000


def _wait_for_live_stream(page: Page) -> None:
    """The htmx SSE extension's EventSource on the page's [sse-connect] element is open."""
    page.wait_for_function(
        """() => {
             const el = document.querySelector("[sse-connect]");
             const data = el && el["htmx-internal-data"];
             return Boolean(data && data.sseEventSource && data.sseEventSource.readyState === 1);
           }"""
    )


def test_sponsor_sees_an_escalation_arrive_live_and_resolves_it_on_a_phone(
    seed_ward, user_with_password, signed_in_page, browser_engine
):
    ward = seed_ward(beds=3, patients=2)
    stay_id, other_stay = ward.stay_ids
    name = patient_names(browser_engine, [stay_id])[stay_id]
    nurse = user_with_password("nurse", [ward], display_name="Nurse Raising")
    sponsor = user_with_password("executive_sponsor", [ward], display_name="Sponsor Resolving")

    # The sponsor's phone: the ladder, nothing open on their ward yet.
    phone = signed_in_page(sponsor, viewport=PHONE, next_="/escalations")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Escalations")
    expect(phone.locator("#no-escalations")).to_have_text("No open escalations on your wards.")
    _wait_for_live_stream(phone)
    phone.evaluate("() => { window.__sameDocument = true; }")

    # The nurse escalates a blocker from the patient page.
    tablet = signed_in_page(nurse, next_=f"/stays/{stay_id}")
    expect(tablet.get_by_role("heading", level=1)).to_contain_text(name)
    tablet.get_by_role("link", name="Escalate a blocker").click()
    expect(tablet.get_by_role("heading", level=1)).to_contain_text("Escalate a blocker")
    tablet.get_by_label("Capacity", exact=True).check()
    tablet.get_by_label("What help is needed?").fill("Care home bed needed: funding agreed, no bed offered")
    tablet.locator("#raise-escalation").click()
    expect(tablet).to_have_url(re.compile(r"/escalations/\d+$"))
    raised_at = time.monotonic()
    escalation_id = int(tablet.url.rsplit("/", 1)[1])
    expect(tablet.locator("#escalation-timeline")).to_contain_text("Raised by Nurse Raising")

    # It arrives on the sponsor's phone within a few seconds, without a reload.
    card = phone.locator(f"#escalation-{escalation_id}")
    expect(card).to_be_visible(timeout=ARRIVES_WITHIN_MS)
    latency = time.monotonic() - raised_at
    print(f"escalation reached the sponsor in {latency * 1000:.0f} ms")
    assert phone.evaluate("() => window.__sameDocument === true"), "the ladder reloaded instead of updating"
    expect(card).to_contain_text(name)
    expect(card).to_contain_text("Ward manager")  # level 1 of the ladder
    expect(card).to_contain_text("Capacity:")
    expect(card).to_contain_text("Care home bed needed")
    expect(card).to_contain_text(ward.name)
    expect(phone.locator("#escalation-cards li")).to_have_count(1)
    assert_no_axe_violations(phone)
    assert_touch_targets(phone, known=KNOWN_SMALL_TARGETS)

    # The sponsor opens it and resolves it with an outcome.
    card.get_by_role("link", name=re.compile(re.escape(name))).click()
    expect(phone).to_have_url(re.compile(rf"/escalations/{escalation_id}$"))
    expect(phone.get_by_role("heading", level=1)).to_contain_text(name)
    expect(phone.locator("#escalation-context")).to_contain_text(ward.name)
    assert_no_axe_violations(phone)
    assert_touch_targets(phone, known=KNOWN_SMALL_TARGETS)
    form = phone.locator("#escalation-form")
    # Resolving needs an outcome.
    form.get_by_role("button", name="Resolve").click()
    expect(phone.locator(".nhsuk-error-summary")).to_contain_text("Record the outcome")
    expect(phone.locator(".nhsuk-error-summary")).to_be_focused()
    phone.get_by_label("Note or outcome").fill("Bed found at Rose Lodge, transfer Monday")
    phone.locator("#escalation-form").get_by_role("button", name="Resolve").click()
    expect(phone.locator("#escalation-main .app-flash")).to_have_text("Resolved")
    expect(phone.locator("#escalation-timeline")).to_contain_text("Resolved by Sponsor Resolving")
    expect(phone.locator("#escalation-timeline")).to_contain_text("Bed found at Rose Lodge, transfer Monday")
    expect(phone.locator("#escalation-form")).to_have_count(0)
    assert_no_axe_violations(phone)

    # Off the open list, on the resolved one.
    phone.goto("/escalations")
    expect(phone.locator("#no-escalations")).to_be_visible()
    phone.get_by_role("link", name="Resolved", exact=True).click()
    expect(phone.locator(f"#escalation-{escalation_id}")).to_contain_text("Outcome: Bed found at Rose Lodge")
    assert_no_axe_violations(phone)
    assert_no_console_errors(phone)

    # The nurse sees the outcome on the patient page.
    tablet.goto(f"/stays/{stay_id}")
    escalations = tablet.locator("#escalation-list")
    expect(escalations).to_contain_text("Resolved")
    expect(escalations).to_contain_text("Outcome: Bed found at Rose Lodge, transfer Monday")
    tablet.goto(f"/stays/{other_stay}")
    expect(tablet.locator("#escalation-list")).to_have_count(0)  # the other patient has none
    assert_no_console_errors(tablet)
