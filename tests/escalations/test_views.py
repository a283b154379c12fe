"""The escalation ladder through its pages: raise, see, act at the right level, outcome shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app.escalations.ladder import can_act, short_duration
from app.models import AuditEvent, Escalation, EscalationEvent
from tests import factories


@pytest.fixture
def stay(db, ward, nurse_principal):
    return factories.make_stay(db, nurse_principal, ward, factories.beds_of(db, ward)[0])


def test_ladder_rungs():
    assert can_act("ward_manager", 1) and not can_act("ward_manager", 2)
    assert can_act("flow_coordinator", 2) and not can_act("flow_coordinator", 3)
    assert can_act("executive_sponsor", 3) and can_act("executive_sponsor", 1)
    assert not can_act("nurse", 1)
    assert short_duration(timedelta(minutes=5)) == "5 min" and short_duration(timedelta(hours=50)) == "2 days"


def test_nurse_raises_sponsor_acts_and_outcome_reaches_the_patient_page(db, browser_as, ward, nurse, stay, clock):
    nurse_browser = browser_as(nurse)
    form = nurse_browser.get(f"/stays/{stay.id}/escalations/new")
    assert form.status_code == 200
    r = nurse_browser.post(f"/stays/{stay.id}/escalations/new", {"category_code": "", "help_needed": "Kept text"})
    assert r.status_code == 422 and "Choose what kind of blocker this is" in r.text and "Kept text" in r.text
    r = nurse_browser.post(
        f"/stays/{stay.id}/escalations/new",
        {"category_code": "capacity", "help_needed": "No reablement slot for 5 days", "needed_by": "2026-03-12"},
    )
    esc = db.exec(select(Escalation)).one()
    assert r.status_code == 303 and r.headers["location"] == f"/escalations/{esc.id}"

    sponsor = factories.make_user(db, "executive_sponsor", wards=[ward], display_name="Sam Sponsor")
    sponsor_browser = browser_as(sponsor)
    clock.advance(hours=3)
    ladder = sponsor_browser.get("/escalations")
    assert "No reablement slot" in ladder.text and "Response overdue" in ladder.text  # 2 h target at ward level
    page = sponsor_browser.get(f"/escalations/{esc.id}")
    assert "Act on it" in page.text and 'id="ctr-history"' in page.text
    r = sponsor_browser.post(f"/escalations/{esc.id}", {"action": "resolve", "note": "", "version": str(esc.version)})
    assert r.status_code == 422 and "Record the outcome" in r.text
    r = sponsor_browser.post(
        f"/escalations/{esc.id}",
        {"action": "resolve", "note": "Spot purchase of a P1 package", "version": str(esc.version)},
    )
    assert r.status_code == 200 and "Resolved" in r.text
    db.refresh(esc)
    assert esc.status == "resolved" and esc.resolved_by_id == sponsor.id
    kinds = db.exec(
        select(EscalationEvent.kind).where(EscalationEvent.escalation_id == esc.id).order_by(EscalationEvent.id)
    ).all()
    assert kinds == ["raised", "resolved"]
    patient_page = nurse_browser.get(f"/stays/{stay.id}")
    assert "Outcome: Spot purchase of a P1 package" in patient_page.text
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "escalation_resolve")).one().actor_id == sponsor.id
    assert "Spot purchase" in nurse_browser.get("/escalations?status=resolved").text


def test_ward_manager_cannot_act_above_their_rung(db, browser_as, ward, stay, nurse_principal, now):
    from app.escalations.schemas import EscalationCreate, EscalationStep
    from app.escalations.service import raise_escalation, step_escalation

    esc = raise_escalation(
        db, actor=nurse_principal, stay=stay, data=EscalationCreate(category_code="interface", help_needed="x"), now=now
    )
    manager = factories.make_user(db, "ward_manager", wards=[ward])
    step_escalation(
        db,
        actor=factories.principal(db, manager),
        esc=esc,
        stay=stay,
        now=now,
        step=EscalationStep(action="escalate", note="Needs the site team"),
        expected_version=esc.version,
    )
    db.flush()
    page = browser_as(manager).get(f"/escalations/{esc.id}")
    assert "This escalation is with the site flow team" in page.text and 'id="escalation-form"' not in page.text
    r = browser_as(manager).post(
        f"/escalations/{esc.id}", {"action": "resolve", "note": "x", "version": str(esc.version)}
    )
    assert r.status_code == 403


def test_stale_action_is_reported(db, browser_as, ward, stay, nurse_principal, now):
    from app.escalations.schemas import EscalationCreate, EscalationStep
    from app.escalations.service import raise_escalation, step_escalation

    esc = raise_escalation(
        db, actor=nurse_principal, stay=stay, data=EscalationCreate(category_code="interface", help_needed="x"), now=now
    )
    seen = esc.version
    manager = factories.make_user(db, "ward_manager", wards=[ward])
    step_escalation(
        db,
        actor=factories.principal(db, manager),
        esc=esc,
        stay=stay,
        now=now,
        step=EscalationStep(action="acknowledge"),
        expected_version=esc.version,
    )
    db.flush()
    r = browser_as(manager).post(
        f"/escalations/{esc.id}", {"action": "note", "note": "Called the hub", "version": str(seen)}
    )
    assert r.status_code == 409 and "Someone else acted on this escalation" in r.text and "Called the hub" in r.text


def test_other_wards_escalations_are_hidden(db, browser_as, stay, nurse_principal, now):
    from app.escalations.schemas import EscalationCreate
    from app.escalations.service import raise_escalation

    esc = raise_escalation(
        db,
        actor=nurse_principal,
        stay=stay,
        data=EscalationCreate(category_code="interface", help_needed="Secret"),
        now=now,
    )
    db.flush()
    outsider = factories.make_user(db, "executive_sponsor", wards=[factories.make_ward(db, beds=1)])
    browser = browser_as(outsider)
    assert "Secret" not in browser.get("/escalations").text
    assert browser.get(f"/escalations/{esc.id}").status_code == 404


def test_help_needed_of_only_spaces_is_a_field_error(db, browser_as, nurse, stay):
    """It passed the form's own check, then failed the API schema's: a 500."""
    browser = browser_as(nurse)
    browser.get(f"/stays/{stay.id}/escalations/new")
    r = browser.post(
        f"/stays/{stay.id}/escalations/new", {"category_code": "capacity", "help_needed": " ", "needed_by": "0"}
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "Describe the help needed" in r.text and "Enter a date as YYYY-MM-DD" in r.text
    assert 'value="capacity" checked' in r.text and 'value="0"' in r.text  # what was typed, kept
    assert db.exec(select(Escalation)).first() is None
