"""The board round through its pages over HTTP (the browser tests drive the same in Chromium)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

from sqlmodel import select

from app.models import Action, AuditEvent, BoardRound, BoardRoundEntry, DailyReview, Escalation, Referral
from tests import factories


def step_form(page: str) -> dict:
    """The step form's current values, as a browser would submit them."""
    form = page.split('id="patient-form"')[1].split("</form>")[0]
    values = dict(re.findall(r'<input[^>]*type="hidden" name="(\w+)" value="([^"]*)"', form))
    for name in ("expected_discharge_date", "edd_reason", "action_due", "escalation_needed_by"):
        m = re.search(rf'name="{name}"[^>]*value="([^"]*)"', form)
        values[name] = m.group(1) if m else ""
    for name in ("delay_reason_code", "red_day_reason_code", "action_owner_role", "escalation_category"):
        select_html = form.split(f'name="{name}"')[1].split("</select>")[0]
        m = re.search(r'<option value="([^"]*)" selected', select_html)
        values[name] = m.group(1) if m else ""
    for name in ("meets", "day_status", "pathway"):
        m = re.search(rf'name="{name}" type="radio" value="([^"]*)" checked', form)
        values[name] = m.group(1) if m else ""
    return values


def test_board_page_shows_beds_and_filters(db, browser_as, nurse, ward, ward_with_patients):
    browser = browser_as(nurse)
    page = browser.get(f"/wards/{ward.code}")
    assert page.status_code == 200 and page.headers["vary"] == "HX-Request, HX-Target"
    assert "PATIENT0, Ada" in page.text and "Start midday board round" in page.text
    assert page.text.count('class="nhsuk-table__row') >= 6
    fragment = browser.get(f"/wards/{ward.code}?filter=nctr", headers={"HX-Request": "true", "HX-Target": "board-rows"})
    assert "<html" not in fragment.text and 'id="board-rows"' in fragment.text
    assert "No patients match this filter" in fragment.text  # nobody reviewed yet today
    # A history restore or reload of the same URL gets the full page.
    restore = browser.get(
        f"/wards/{ward.code}?filter=nctr", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.text
    display = browser.get(f"/wards/{ward.code}/display")
    assert "PATIENT0" not in display.text and ">AP<" in display.text  # initials only


def test_remembered_ward(db, browser_as, nurse, ward):
    other = factories.make_ward(db)
    nurse_two_wards = factories.make_user(db, "nurse", wards=[ward, other])
    browser = browser_as(nurse_two_wards)
    assert browser.get("/").status_code == 200  # two wards: choose
    browser.get(f"/wards/{other.code}")
    r = browser.get("/")
    assert r.status_code == 303 and r.headers["location"] == f"/wards/{other.code}"


def test_whole_round_with_no_change_save_skip_and_summary(db, browser_as, nurse, ward, ward_with_patients, clock):
    first, second, third = ward_with_patients
    browser = browser_as(nurse)
    r = browser.post(f"/wards/{ward.code}/rounds/new", [("roles", "nurse"), ("roles", "therapist")])
    assert r.status_code == 303
    board_round = db.exec(select(BoardRound)).one()
    assert r.headers["location"] == f"/rounds/{board_round.id}/stays/{first.id}"

    page = browser.get(r.headers["location"])
    assert "Patient 1 of 3" in page.text and 'id="no-change"' in page.text
    values = step_form(page.text)
    assert (
        values["meets"] == "no" and values["day_status"] == "" and values["expected_discharge_date"] == "2026-03-12"
    )  # the colour follows the answers: red, not overridden
    assert 'data-status="red"' in page.text

    clock.advance(seconds=40)
    r = browser.post(
        f"/rounds/{board_round.id}/stays/{first.id}/no-change",
        {"stay_version": values["stay_version"]},
        headers={"HX-Request": "true", "HX-Target": "round-step"},
    )
    assert r.status_code == 200
    assert json.loads(r.headers["hx-location"])["path"] == f"/rounds/{board_round.id}/stays/{second.id}"

    clock.advance(seconds=50)
    r = browser.post(f"/rounds/{board_round.id}/stays/{second.id}/skip")
    assert r.headers["location"] == f"/rounds/{board_round.id}/stays/{third.id}"

    page = browser.get(f"/rounds/{board_round.id}/stays/{third.id}")
    values = step_form(page.text) | {
        "meets": "yes",
        "criteria": "02",
        "day_status": "green",
        "expected_discharge_date": "2026-03-14",
        "edd_reason": "Still on oxygen",
        "action_description": "Repeat chest X-ray",
        "action_owner_role": "doctor",
        "action_due": "15:00",
        "escalation_help": "Needs P1 package",
        "escalation_category": "capacity",
    }
    clock.advance(seconds=70)
    r = browser.post(f"/rounds/{board_round.id}/stays/{third.id}", values)
    assert r.status_code == 303, r.text[:2000]
    # The skipped patient comes back round.
    assert r.headers["location"] == f"/rounds/{board_round.id}/stays/{second.id}"

    reviews = {
        rv.stay_id: rv for rv in db.exec(select(DailyReview).where(DailyReview.review_date == date(2026, 3, 10)))
    }
    assert reviews[first.id].meets_criteria_to_reside is False and reviews[first.id].delay_reason_code == "CAP01"
    assert reviews[third.id].meets_criteria_to_reside is True
    db.refresh(third)
    assert third.expected_discharge_date == date(2026, 3, 14)
    action = db.exec(select(Action).where(Action.stay_id == third.id)).one()
    assert action.board_round_id == board_round.id and action.due_at.hour == 15  # 15:00 GMT in March
    assert db.exec(select(Escalation).where(Escalation.stay_id == third.id)).one().category_code == "capacity"
    entries = {e.stay_id: e for e in db.exec(select(BoardRoundEntry))}
    assert entries[first.id].outcome == "no_change" and entries[first.id].seconds == 40
    assert entries[second.id].outcome == "skipped" and entries[third.id].seconds == 120

    r = browser.post(f"/rounds/{board_round.id}/end", {"version": str(board_round.version)})
    summary = browser.get(r.headers["location"]).text
    assert "Board round summary" in summary and "2 (1 with no change)" in summary
    assert "1 skipped" in summary
    handover = browser.get(f"/rounds/{board_round.id}/handover").text
    assert "Repeat chest X-ray" in handover


def test_step_errors_keep_what_was_typed(db, browser_as, nurse, ward, ward_with_patients):
    browser = browser_as(nurse)
    browser.post(f"/wards/{ward.code}/rounds/new", [("roles", "nurse")])
    board_round = db.exec(select(BoardRound)).one()
    stay = ward_with_patients[0]
    page = browser.get(f"/rounds/{board_round.id}/stays/{stay.id}")
    values = step_form(page.text) | {
        "meets": "no",
        "delay_reason_code": "",
        "day_status": "",
        "plan": "Typed plan kept",
        "expected_discharge_date": "2026-03-15",
        "edd_reason": "",
    }
    r = browser.post(
        f"/rounds/{board_round.id}/stays/{stay.id}", values, headers={"HX-Request": "true", "HX-Target": "round-step"}
    )
    assert r.status_code == 422
    assert "<html" not in r.text and 'id="round-step"' in r.text
    assert "Say why the patient is still here" in r.text  # the day's colour is derived: no question
    assert "Typed plan kept" in r.text and 'value="2026-03-15"' in r.text
    values |= {"delay_reason_code": "CAP01", "day_status": "green"}  # an override of the rule's red
    r = browser.post(f"/rounds/{board_round.id}/stays/{stay.id}", values)
    assert r.status_code == 422 and "say why it is green instead" in r.text
    values |= {"day_status_override_reason": "Therapy today needed the bed"}
    r = browser.post(f"/rounds/{board_round.id}/stays/{stay.id}", values)
    assert r.status_code == 422 and "Say why the expected discharge date is changing" in r.text
    assert db.exec(select(DailyReview).where(DailyReview.review_date == date(2026, 3, 10))).all() == []


def test_conflict_says_who_changed_what_and_lets_the_user_reapply(
    db, browser_as, nurse, ward, ward_with_patients, nurse_principal, now
):
    browser = browser_as(nurse)
    stay = ward_with_patients[0]
    page = browser.get(f"/stays/{stay.id}")
    values = step_form(page.text) | {"plan": "My careful plan"}
    doctor = factories.principal(db, factories.make_user(db, "doctor", wards=[ward], display_name="Dr Dee"))
    factories.make_edd(db, doctor, stay, date(2026, 3, 11), reason="Improving fast", now=now)
    db.flush()  # as their commit would
    r = browser.post(f"/stays/{stay.id}", values)
    assert r.status_code == 409
    assert "Dr Dee changed this patient" in r.text and "Expected discharge date: 12 Mar 2026 → 11 Mar 2026" in r.text
    assert "My careful plan" in r.text
    # Reapply: the page carries the new version; their EDD change is still in the form to review.
    retry = step_form(r.text) | {"plan": "My careful plan", "expected_discharge_date": "2026-03-11"}
    r = browser.post(f"/stays/{stay.id}", retry)
    assert r.status_code == 200 and "Saved" in r.text
    review = db.exec(
        select(DailyReview).where(DailyReview.stay_id == stay.id, DailyReview.review_date == date(2026, 3, 10))
    ).one()
    assert review.plan == "My careful plan"


def test_patient_page_referrals_actions_and_plan_sheet(db, browser_as, nurse, ward, ward_with_patients):
    browser = browser_as(nurse)
    stay = ward_with_patients[0]
    sent = {"service_code": "care_transfer_hub", "sent_date": "2026-03-09", "sent_time": "09:30"}
    r = browser.post(f"/stays/{stay.id}/referrals", sent)
    assert r.status_code == 200 and "Care transfer hub (integrated discharge team)" in r.text
    referral = db.exec(select(Referral)).one()
    early = {"step": "accepted", "on_date": "2026-03-08", "at_time": "10:00", "version": "1"}
    r = browser.post(f"/stays/{stay.id}/referrals/{referral.id}", early)
    assert r.status_code == 422 and "cannot be before" in r.text
    challenge = {"step": "challenged", "on_date": "2026-03-09", "at_time": "11:00", "text": "", "version": "1"}
    r = browser.post(f"/stays/{stay.id}/referrals/{referral.id}", challenge)
    assert r.status_code == 422 and "Say why the referral was challenged" in r.text
    r = browser.post(
        f"/stays/{stay.id}/referrals/{referral.id}",
        {"step": "decided", "on_date": "2026-03-10", "at_time": "10:00", "text": "Accepted P1", "version": "1"},
    )
    assert "Accepted P1" in r.text
    db.expire_all()
    assert db.get(Referral, referral.id).decided_at == datetime(2026, 3, 10, 10, tzinfo=UTC)
    r = browser.post(f"/stays/{stay.id}/referrals", {"service_code": "", "sent_date": "not a date"})
    assert r.status_code == 422
    plan = browser.get(f"/stays/{stay.id}/plan").text
    assert "12 Mar 2026" in plan and "extra help" in plan
    assert db.exec(select(AuditEvent).where(AuditEvent.entity_type == "referral")).all()


def test_referral_forms_keep_what_was_typed_with_each_message_by_its_field(db, browser_as, nurse, ward_with_patients):
    browser = browser_as(nurse)
    stay = ward_with_patients[0]
    typed = {
        "service_code": "care_transfer_hub",
        "detail": "Jo on the hub",
        "sent_date": "9999-12-31",
        "sent_time": "09:00",
    }
    r = browser.post(f"/stays/{stay.id}/referrals", typed)
    assert r.status_code == 422 and "Enter a date between 1 January 1900 and 31 December 2100" in r.text
    assert 'value="Jo on the hub"' in r.text and 'value="9999-12-31"' in r.text
    assert browser.post(f"/stays/{stay.id}/referrals", typed | {"sent_date": "2026-03-09"}).status_code == 200
    referral = db.exec(select(Referral)).one()
    r = browser.post(
        f"/stays/{stay.id}/referrals/{referral.id}",
        {"step": "decided", "on_date": "0", "at_time": "10:00", "text": "Accepted", "version": "1"},
    )
    assert r.status_code == 422
    row = f"on_date-{referral.id}"
    assert re.search(rf'id="{row}-error"[^>]*>.*Enter a date as YYYY-MM-DD', r.text, re.S)
    assert re.search(rf'id="{row}"[^>]*value="0"', r.text) and 'value="Accepted"' in r.text
    assert db.get(Referral, referral.id).decided_at is None


def test_sponsors_see_but_cannot_edit(db, browser_as, ward, ward_with_patients):
    sponsor = factories.make_user(db, "executive_sponsor", wards=[ward])
    browser = browser_as(sponsor)
    page = browser.get(f"/stays/{ward_with_patients[0].id}")
    assert page.status_code == 200 and 'id="patient-form"' not in page.text
    assert "Start midday board round" not in browser.get(f"/wards/{ward.code}").text


def test_no_change_on_an_old_reason_asks_to_confirm_it_on_the_step(db, browser_as, nurse, ward, nurse_principal, now):
    from datetime import timedelta

    bed = factories.beds_of(db, ward)[0]
    stay = factories.make_stay(db, nurse_principal, ward, bed, admitted_at=now - timedelta(days=6))
    factories.make_review(db, nurse_principal, stay, meets=False, now=now - timedelta(days=3))
    browser = browser_as(nurse)
    r = browser.post(f"/wards/{ward.code}/rounds/new", [("roles", "nurse")])
    step_url = r.headers["location"]
    page = browser.get(step_url)
    assert 'id="confirm_delay_reason"' in page.text and "Still waiting for: " in page.text
    values = step_form(page.text)

    # The whole form, sent by "No change" (its formaction): refused, the page as it was on screen.
    r = browser.post(f"{step_url}/no-change", values | {"plan": "Typed, then No change"})
    assert r.status_code == 422
    assert "confirm it still holds" in r.text and "Typed, then No change" in r.text
    assert (
        db.exec(
            select(DailyReview).where(DailyReview.stay_id == stay.id, DailyReview.review_date == now.date())
        ).first()
        is None
    )

    r = browser.post(f"{step_url}/no-change", values | {"confirm_delay_reason": "true"})
    assert r.status_code == 303
    entry = db.exec(select(BoardRoundEntry).where(BoardRoundEntry.stay_id == stay.id)).one()
    assert entry.outcome == "no_change"


def test_continue_goes_to_the_next_patient_not_seen(db, browser_as, nurse, ward, ward_with_patients):
    first, second, third = ward_with_patients
    browser = browser_as(nurse)
    r = browser.post(f"/wards/{ward.code}/rounds/new", [("roles", "nurse")])
    board_round = db.exec(select(BoardRound)).one()
    page = browser.get(r.headers["location"])
    browser.post(
        f"/rounds/{board_round.id}/stays/{first.id}/no-change", {"stay_version": step_form(page.text)["stay_version"]}
    )
    r = browser.get(f"/rounds/{board_round.id}/continue")
    assert r.status_code == 303 and r.headers["location"] == f"/rounds/{board_round.id}/stays/{second.id}"
    # The start page while the round is open continues it too.
    r = browser.get(f"/wards/{ward.code}/rounds/new")
    assert r.headers["location"] == f"/rounds/{board_round.id}/continue"
    assert 'id="continue-round"' in browser.get(f"/rounds/{board_round.id}").text


def test_after_the_round_ended_start_shows_its_summary(db, browser_as, nurse, ward, ward_with_patients):
    browser = browser_as(nurse)
    browser.post(f"/wards/{ward.code}/rounds/new", [("roles", "nurse")])
    board_round = db.exec(select(BoardRound)).one()
    r = browser.post(f"/rounds/{board_round.id}/end", {"version": board_round.version})
    assert r.status_code == 303
    r = browser.get(f"/wards/{ward.code}/rounds/new")
    assert r.status_code == 303 and r.headers["location"] == f"/rounds/{board_round.id}"
    summary = browser.get(r.headers["location"]).text
    assert "Board round summary" in summary and "Start another board round" in summary
    assert "Start the midday board round" in browser.get(f"/wards/{ward.code}/rounds/new?again=1").text


def test_the_board_continues_at_the_next_patient_and_offers_no_start_after_the_round(
    db, browser_as, nurse, ward, ward_with_patients
):
    browser = browser_as(nurse)
    browser.post(f"/wards/{ward.code}/rounds/new", [("roles", "nurse")])
    board_round = db.exec(select(BoardRound)).one()
    board = browser.get(f"/wards/{ward.code}").text
    assert f'href="/rounds/{board_round.id}/continue"' in board
    browser.post(f"/rounds/{board_round.id}/end", {"version": board_round.version})
    board = browser.get(f"/wards/{ward.code}").text
    assert "Start midday board round" not in board and "Continue board round" not in board
    assert f'href="/rounds/{board_round.id}"' in board and "Today&#39;s board round: summary" in board
