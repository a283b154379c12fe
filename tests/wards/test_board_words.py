"""Words, not codes, wherever a person reads (docs/board.md): the board, the wall screen, the
handover list, the audit viewer and the failed-discharge form, over HTTP against a real database.
The layout itself is measured in Chromium in tests/browser/test_board_layout.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from app.audit.words import readable_changes, value_text
from app.models import Patient
from app.wards.presenters import changed_ago
from tests import factories

OXYGEN = "Needs oxygen therapy or non-invasive ventilation (NIV)"
IV_MEDS = "Needs IV medication more than twice daily (including analgesia)"
CARE_HOME = "Residential or nursing home care arrangements still underway"
WAITING = "Waiting for a service outside the hospital"


def _reviewed(db, ward, principal, now):
    beds = factories.beds_of(db, ward)
    meets = factories.make_stay(db, principal, ward, beds[0])
    waits = factories.make_stay(db, principal, ward, beds[1])
    factories.make_review(db, principal, meets, meets=True, now=now, criteria=["02", "08"])
    factories.make_review(
        db, principal, waits, meets=False, now=now, delay_reason_code="IP03",
        day_status="red", red_day_reason_code="waiting_external",
    )  # fmt: skip
    db.flush()
    return meets, waits


def test_the_board_shows_criteria_and_reasons_in_words(db, browser_as, nurse, nurse_principal, ward, now):
    meets, waits = _reviewed(db, ward, nurse_principal, now)
    page = browser_as(nurse).get(f"/wards/{ward.code}").text
    row = page.split(f'id="stay-{meets.id}-row"')[1].split("</tr>")[0]
    assert f"{OXYGEN}; {IV_MEDS}" in row
    assert "02, 08" not in row and not re.search(r">\s*0[28]\b", row)
    other = page.split(f'id="stay-{waits.id}-row"')[1].split("</tr>")[0]
    assert CARE_HOME in other and "IP03" not in other
    assert WAITING in other and "waiting_external" not in other
    assert "data-changed-at" in row and "just now" in row
    # The freshness banner is there, empty until the stream goes quiet.
    assert 'id="live-status"' in page and 'role="status"' in page


def test_the_wall_screen_shows_initials_only(db, browser_as, nurse, nurse_principal, ward, now):
    meets, _ = _reviewed(db, ward, nurse_principal, now)
    patient = db.get(Patient, meets.patient_id)
    page = browser_as(nurse).get(f"/wards/{ward.code}/display").text
    card = page.split(f'id="stay-{meets.id}-row"')[1].split("</li>")[0]
    initials = f"{patient.given_name[0]}{patient.family_name[0]}".upper()
    assert f'class="app-board__name">{initials}</span>' in card
    assert patient.family_name.upper() not in page.upper() and patient.given_name not in page
    # The initials lead a signed-in tablet to the patient's own page, where the name is.
    assert f'href="/stays/{meets.id}"' in card
    rows = browser_as(nurse).get(f"/wards/{ward.code}/rows?display=1").text
    assert 'class="app-wall"' in rows and f'id="stay-{meets.id}-row"' in rows


def test_the_handover_shows_red_green_and_reasons_in_words(db, browser_as, nurse, nurse_principal, ward, now):
    meets, waits = _reviewed(db, ward, nurse_principal, now)
    board_round = factories.make_round(db, nurse_principal, ward, now=now)
    db.flush()
    page = browser_as(nurse).get(f"/rounds/{board_round.id}/handover").text
    assert f"Meets criteria: {OXYGEN}; {IV_MEDS}" in page
    assert f"No criteria to reside: {CARE_HOME}" in page
    assert "Green day" in page and "Red day" in page and WAITING in page
    assert "02, 08" not in page


def test_the_audit_viewer_reads_in_words_and_london_time(db, browser_as, ward, nurse_principal, now):
    manager = factories.make_user(db, "ward_manager", wards=[ward], display_name="Mo Manager")
    _reviewed(db, ward, nurse_principal, now)
    db.flush()
    page = browser_as(manager).get("/audit").text
    assert "Delay reason" in page and CARE_HOME in page
    assert "Red day reason" in page and WAITING in page
    assert "Criteria met" in page and OXYGEN in page
    assert "delay_reason_code" not in page and "red_day_reason_code" not in page
    assert ">IP03<" not in page and "waiting_external" not in page
    # Stored UTC, shown on the London clock, never as ISO text.
    shown = re.sub(r'datetime="[^"]*"', "", page.split('id="audit-events"')[1])  # machine-readable attributes
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", shown)
    assert '<strong>Recorded review</strong> <span class="nhsuk-u-secondary-text-colour">(daily review #' in page


def test_audit_values_in_words():
    labels = {"delay_reasons": {"IP03": CARE_HOME}, "criteria": {"02": OXYGEN}, "pathways": {3: "Pathway 3: care home"}}
    assert value_text("delay_reason_code", "IP03", labels) == CARE_HOME
    assert value_text("criteria", ["02"], labels) == OXYGEN
    assert value_text("pathway", 3, labels) == "Pathway 3: care home"
    assert value_text("meets_criteria_to_reside", True, labels) == "yes"
    # 12:30 UTC on 1 July is 13:30 in London (BST); a date stays a date.
    assert value_text("reviewed_at", "2026-07-01T12:30:00+00:00", labels) == "Wed 1 Jul 2026, 13:30"
    assert value_text("expected_discharge_date", "2026-07-03", labels) == "3 Jul 2026"
    assert value_text("note", None, labels) is None and value_text("reason", "", labels) is None
    assert value_text("day_status", "red", labels) == "Red day"
    rows = readable_changes(
        {"version": 1, "delay_reason_code": None}, {"version": 2, "delay_reason_code": "IP03"}, labels
    )
    assert rows == [("Delay reason", None, CARE_HOME)]  # the version is bookkeeping


def test_the_failed_discharge_form_lists_each_cause_once(db, browser_as, nurse, nurse_principal, ward):
    stay = factories.make_stay(db, nurse_principal, ward, factories.beds_of(db, ward)[0])
    db.flush()
    page = browser_as(nurse).get(f"/stays/{stay.id}/failed-discharges/new").text
    visible = re.sub(r'<span class="nhsuk-u-visually-hidden">[^<]*</span>', "", page)
    assert visible.count("Medicines to take home not ready") == 1
    assert visible.count("Infection control (outbreak or closed home)") == 1
    assert page.count('name="causes"') == 16 and page.count('name="primary_cause"') == 16
    assert 'id="causes"' in page and 'id="primary_cause"' in page  # the error summary's targets


def test_changed_ago_words():
    now = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
    assert changed_ago(now - timedelta(seconds=20), now) == "just now"
    assert changed_ago(now - timedelta(minutes=5), now) == "5 min ago"
    assert changed_ago(now - timedelta(hours=3), now) == "3 h ago"
    assert changed_ago(now - timedelta(days=3), now) == "3 days ago"
    assert changed_ago(None, now) == ""


def test_the_handover_and_patient_page_give_an_actions_date_and_flag_it_overdue(
    db, browser_as, nurse, nurse_principal, ward, now
):
    meets, _ = _reviewed(db, ward, nurse_principal, now)
    factories.make_action(db, nurse_principal, meets, description="Chase echo", due_at=now - timedelta(days=1))
    factories.make_action(db, nurse_principal, meets, description="Book transport", due_at=now + timedelta(hours=2))
    board_round = factories.make_round(db, nurse_principal, ward, now=now)
    db.flush()
    browser = browser_as(nurse)
    for page in (browser.get(f"/rounds/{board_round.id}/handover").text, browser.get(f"/stays/{meets.id}").text):
        overdue = re.search(r"Chase echo.{0,400}", page, re.S)
        later = re.search(r"Book transport.{0,400}", page, re.S)
        assert overdue and "Overdue" in overdue.group(0).split("Book transport")[0]
        assert later and "Overdue" not in later.group(0).split("Chase echo")[0].split("</li>")[0].split("<br>")[0]
        assert ", by " not in page  # the date, not only a time
