"""A referral decision recorded on the ward reaches the flow coordinator's hub list live."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from app.core.clock import utcnow
from app.models import Stay, User
from app.stays import referrals
from app.stays.schemas import ReferralCreate
from app.stays.service import update_stay
from tests import factories
from tests.browser.helpers import assert_no_axe_violations, assert_no_horizontal_scroll, assert_touch_targets

pytestmark = pytest.mark.browser


def _wait_for_live_stream(page: Page) -> None:
    page.wait_for_function(
        """() => {
             const el = document.querySelector("[sse-connect]");
             const data = el && el["htmx-internal-data"];
             return Boolean(data && data.sseEventSource && data.sseEventSource.readyState === 1);
           }"""
    )


def test_flow_coordinator_sees_a_referral_decision_arrive_on_the_hub(
    seed_ward, user_with_password, signed_in_page, browser_engine
):
    ward = seed_ward(beds=2, patients=1)
    (stay_id,) = ward.stay_ids
    nurse = user_with_password("nurse", [ward], display_name="Nurse Recording")
    flow = user_with_password("flow_coordinator", display_name="Flow Watching")
    with Session(browser_engine) as db:
        actor = factories.principal(db, db.get(User, nurse.id))
        now = utcnow()
        stay = db.get(Stay, stay_id)
        # Pathway 1: on the hub list whatever its referrals (a decided one alone would leave it).
        update_stay(db, actor=actor, stay=stay, changes={"pathway": 1}, expected_version=stay.version, now=now)
        referral = referrals.add_referral(
            db,
            actor=actor,
            stay=stay,
            data=ReferralCreate(service_code="social_care", sent_at=now - timedelta(hours=2)),
            now=now,
        )
        db.commit()
        referral_id = referral.id

    hub = signed_in_page(flow, next_="/hub")
    expect(hub.get_by_role("heading", level=1)).to_have_text("Transfer of care hub")
    item = hub.locator(f"#hub-referral-{referral_id}")
    expect(item).to_contain_text("Adult social care assessment: Sent")
    _wait_for_live_stream(hub)
    hub.evaluate("() => { window.__sameDocument = true; }")

    tablet = signed_in_page(nurse, next_=f"/stays/{stay_id}")
    tablet.get_by_text("Record progress: Adult social care assessment").click()
    tablet.locator(f"#step-{referral_id}").select_option("decided")
    tablet.locator(f"#text-{referral_id}").fill("Package of care agreed")
    tablet.get_by_role("button", name="Record for Adult social care assessment").click()
    expect(tablet.locator(f"#referral-{referral_id}")).to_contain_text("Package of care agreed")

    expect(item).to_contain_text("Decided", timeout=5_000)
    assert hub.evaluate("() => window.__sameDocument === true"), "the hub reloaded instead of updating"
    assert_no_axe_violations(hub)


def test_patient_page_milestones_and_referrals_are_accessible_on_a_phone(
    seed_ward, user_with_password, signed_in_page, browser_engine
):
    ward = seed_ward(beds=2, patients=1)
    (stay_id,) = ward.stay_ids
    nurse = user_with_password("nurse", [ward])
    with Session(browser_engine) as db:
        actor = factories.principal(db, db.get(User, nurse.id))
        now = utcnow()
        stay = db.get(Stay, stay_id)
        update_stay(db, actor=actor, stay=stay, changes={"pathway": 1}, expected_version=stay.version, now=now)
        referrals.add_referral(
            db, actor=actor, stay=stay, data=ReferralCreate(service_code="reablement", sent_at=now), now=now
        )
        db.commit()
    page = signed_in_page(nurse, viewport="phone", next_=f"/stays/{stay_id}")
    panel = page.locator(f"#milestones-{stay_id}")
    expect(panel).to_contain_text("Medicines to take home ready")
    tto = panel.locator("li", has_text="Medicines to take home ready")
    tto.locator("form:has(input[value=done]) button").click()
    expect(panel).to_contain_text("Milestone updated")
    assert_no_axe_violations(page)
    assert_touch_targets(page)
    assert_no_horizontal_scroll(page)
