"""Two people on the same ward at once, in two browser contexts, against the real server.

- A change saved by a doctor reaches a nurse's open board within 2 seconds, with no reload:
  server-sent events from /wards/<code>/events, then htmx re-fetches the rows. On PostgreSQL
  the event goes through LISTEN/NOTIFY (the test writes nothing itself: the server does).
- Two people saving the same patient: the second is told who changed what, keeps what they
  typed, and can save again.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from app.web.templating import date_text
from tests.browser.helpers import assert_no_console_errors
from tests.browser.seeding import KNOWN_BUGS, clear_none_textareas, london_today, patient_names

pytestmark = pytest.mark.browser

LIVE_WITHIN_MS = 2_000


def _wait_for_live_stream(page: Page, element_id: str) -> None:
    """The htmx SSE extension's EventSource on #element_id is open (readyState 1)."""
    page.wait_for_function(
        """(id) => {
             const el = document.getElementById(id);
             const data = el && el["htmx-internal-data"];
             return Boolean(data && data.sseEventSource && data.sseEventSource.readyState === 1);
           }""",
        arg=element_id,
    )


def _mark_document(page: Page) -> None:
    page.evaluate("() => { window.__sameDocument = true; }")


def _same_document(page: Page) -> bool:
    return page.evaluate("() => window.__sameDocument === true")


def test_a_change_reaches_another_open_board_within_two_seconds(
    seed_ward, past_reviews, user_with_password, signed_in_page, browser_engine
):
    ward = seed_ward(beds=4, patients=3)
    past_reviews(ward)
    target, other, _ = ward.stay_ids
    name = patient_names(browser_engine, [target])[target]
    nurse = user_with_password("nurse", [ward], display_name="Nurse Watching")
    doctor = user_with_password("doctor", [ward], display_name="Dr Changing")

    board = signed_in_page(nurse, next_=f"/wards/{ward.code}")
    row = board.locator(f"#stay-{target}-row")
    expect(row).to_contain_text(name)
    expect(row).to_contain_text("Not reviewed")
    expect(board.locator(".app-counts")).to_contain_text("3 not reviewed today")
    _wait_for_live_stream(board, "board-live")
    _mark_document(board)
    board.get_by_role("link", name=name).focus()  # the nurse is somewhere on the board

    # The doctor, in another browser context, records today's review on the patient page.
    doctor_page = signed_in_page(doctor, next_=f"/stays/{target}")
    expect(doctor_page.get_by_role("heading", level=1)).to_contain_text(name)
    clear_none_textareas(doctor_page)
    doctor_page.get_by_label("No criteria to reside", exact=True).check()
    doctor_page.get_by_label("If no: why is the patient still here?").select_option("CAP03")
    doctor_page.get_by_label("Red day", exact=True).check()
    doctor_page.get_by_label("If red: why?").select_option(label="Waiting for a service outside the hospital")
    doctor_page.get_by_label("Plan for today").fill("Care home bed search")
    doctor_page.locator("#save-patient").click()
    expect(doctor_page.locator("#patient-main .app-flash")).to_have_text("Saved")
    saved_at = time.monotonic()

    # The nurse's board, untouched, shows it within 2 seconds.
    expect(row).to_contain_text("No criteria to reside", timeout=LIVE_WITHIN_MS)
    expect(row).to_contain_text("Red day", timeout=LIVE_WITHIN_MS)
    latency = time.monotonic() - saved_at
    assert latency <= LIVE_WITHIN_MS / 1000, f"the board took {latency:.2f}s"
    expect(row).to_contain_text("Residential or nursing home care not yet available")
    expect(board.locator(".app-counts")).to_contain_text("2 not reviewed today")
    expect(board.locator(".app-counts")).to_contain_text("1 no criteria to reside")
    expect(board.locator(f"#stay-{other}-row")).to_contain_text("Not reviewed")
    assert _same_document(board), "the board reloaded instead of updating itself"
    # A background refresh must not take the nurse's place on the board away.
    focus_kept = board.evaluate(
        "(name) => document.activeElement !== document.body && document.activeElement.textContent.includes(name)", name
    )
    if "board-refresh-drops-focus" in KNOWN_BUGS:
        assert not focus_kept, "focus now survives the refresh: remove 'board-refresh-drops-focus' from KNOWN_BUGS"
    else:
        assert focus_kept, "the live refresh moved focus away from the patient link"
    print(f"live update latency: {latency * 1000:.0f} ms")
    assert_no_console_errors(board)
    assert_no_console_errors(doctor_page)


def test_two_people_saving_the_same_patient_see_a_conflict_and_keep_their_answers(
    seed_ward, past_reviews, user_with_password, signed_in_page, browser_engine
):
    ward = seed_ward(beds=2, patients=1)
    (stay_id,) = ward.stay_ids
    (seeded,) = past_reviews(ward, edd_in_days=2)
    name = patient_names(browser_engine, [stay_id])[stay_id]
    doctor = user_with_password("doctor", [ward], display_name="Dr First")
    nurse = user_with_password("nurse", [ward], display_name="Nurse Second")
    old_edd = seeded.expected_discharge_date
    new_edd = london_today() + timedelta(days=6)

    # Both open the patient before either saves.
    first = signed_in_page(doctor, next_=f"/stays/{stay_id}")
    second = signed_in_page(nurse, next_=f"/stays/{stay_id}")
    for page in (first, second):
        expect(page.get_by_role("heading", level=1)).to_contain_text(name)
        expect(page.get_by_label("Expected discharge date", exact=True)).to_have_value(old_edd.isoformat())

    # The first changes the expected discharge date.
    clear_none_textareas(first)
    first.get_by_label("Expected discharge date", exact=True).fill(new_edd.isoformat())
    first.get_by_label("Reason, if the date is changing").fill("Waiting for echo")
    first.locator("#save-patient").click()
    expect(first.locator("#patient-main .app-flash")).to_have_text("Saved")
    expect(first.locator("#edd-history")).to_contain_text("Waiting for echo")

    # The second, on the form they opened earlier, answers other questions and saves.
    clear_none_textareas(second)
    second.get_by_label("Red day", exact=True).check()
    second.get_by_label("If red: why?").select_option(label="No senior review today")
    second.get_by_label("Plan for today").fill("Senior review tomorrow morning")
    second.get_by_label("3. Clinical criteria for discharge").fill("Walking 20 metres with a frame")
    second.locator("#save-patient").click()

    conflict = second.locator("#conflict")
    expect(conflict).to_contain_text("Someone else changed this patient")
    expect(conflict).to_contain_text(f"{doctor.display_name} changed this patient on")
    expect(conflict).to_contain_text("Nothing you typed has been saved yet")
    # In words and London dates, not ISO dates and field codes.
    expect(conflict).to_contain_text(f"Expected discharge date: {date_text(old_edd)} → {date_text(new_edd)}")
    expect(conflict).not_to_contain_text("expected_discharge_date")
    expect(conflict).to_contain_text("Waiting for echo")
    expect(conflict).to_have_attribute("role", "alert")  # read out at once
    # What they typed is all still there.
    expect(second.get_by_label("Red day", exact=True)).to_be_checked()
    expect(second.get_by_label("If red: why?")).to_have_value("no_senior_review")
    expect(second.get_by_label("Plan for today")).to_have_value("Senior review tomorrow morning")
    expect(second.get_by_label("3. Clinical criteria for discharge")).to_have_value("Walking 20 metres with a frame")

    # The field they did not touch should now show the first person's new date.
    edd_field = second.get_by_label("Expected discharge date", exact=True)
    if "conflict-keeps-stale-answers" in KNOWN_BUGS:
        assert edd_field.input_value() == old_edd.isoformat(), (
            "the untouched EDD now takes the new date: remove 'conflict-keeps-stale-answers' from KNOWN_BUGS"
        )
        edd_field.fill(new_edd.isoformat())  # by hand, as the panel asks them to check
    else:
        expect(edd_field).to_have_value(new_edd.isoformat())

    # Having read the panel, they save again: their answers apply, the first person's EDD stays.
    second.locator("#save-patient").click()
    expect(second.locator("#patient-main .app-flash")).to_have_text("Saved")
    expect(second.locator("#conflict")).to_have_count(0)
    expect(second.get_by_label("Expected discharge date", exact=True)).to_have_value(new_edd.isoformat())
    expect(second.get_by_label("Red day", exact=True)).to_be_checked()
    expect(second.get_by_label("Plan for today")).to_have_value("Senior review tomorrow morning")
    expect(second.get_by_label("3. Clinical criteria for discharge")).to_have_value("Walking 20 metres with a frame")

    # The first sees the second's answers after a reload.
    first.reload()
    expect(first.get_by_label("Red day", exact=True)).to_be_checked()
    expect(first.get_by_label("3. Clinical criteria for discharge")).to_have_value("Walking 20 metres with a frame")
    expect(first.get_by_label("Expected discharge date", exact=True)).to_have_value(new_edd.isoformat())
    assert re.search(r"/stays/\d+$", second.url)
