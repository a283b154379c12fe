"""The alerts pages: the header's count, the list, marking read, settings; only your own."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from app.alerts.rules import RULES
from app.alerts.service import create_due_alerts, unread_count
from app.models import Alert, AlertPreferences, AuditEvent
from app.web.form_writes import OUT_OF_DATE
from tests import factories


def _overdue_action(db, ward, actor, now, *, role="nurse", hours=1):
    stay = factories.make_stay(db, actor, ward, None, now=now - timedelta(days=1))
    action = factories.make_action(
        db, actor, stay, owner_role_code=role, due_at=now - timedelta(hours=hours), now=now - timedelta(days=1)
    )
    return stay, action


def test_the_header_counts_unread_alerts_and_the_list_opens_them(db, browser_as, ward, nurse, nurse_principal, now):
    bed = factories.beds_of(db, ward)[0]
    stay = factories.make_stay(db, nurse_principal, ward, bed, now=now - timedelta(days=1))
    factories.make_action(db, nurse_principal, stay, due_at=now - timedelta(hours=1), now=now - timedelta(days=1))
    browser = browser_as(nurse)
    home = browser.get(f"/wards/{ward.code}")
    assert 'id="alert-count"' in home.text and 'hx-get="/alerts/count"' in home.text
    assert 'sse-connect="/alerts/events"' in home.text
    assert "alert-count__number" not in browser.get("/alerts/count").text

    [alert_id] = create_due_alerts(db, now=now)
    count = browser.get("/alerts/count")
    assert count.status_code == 200 and ">1</span>" in count.text and "unread" in count.text

    page = browser.get("/alerts")
    alert = db.get(Alert, alert_id)
    patient = stay.patient_id
    assert page.status_code == 200 and alert.title in page.text
    assert f"{ward.code} bed {bed.label}" in alert.title and "Action overdue" in alert.title
    assert f'href="/stays/{stay.id}/plan"' in page.text
    assert patient  # the title holds initials only (checked in test_job)

    r = browser.post(f"/alerts/{alert_id}/read", {})
    assert r.status_code == 422 and OUT_OF_DATE in r.text  # no version: never marked blind
    r = browser.post(f"/alerts/{alert_id}/read", {"version": str(alert.version)})
    assert r.status_code == 303 and r.headers["location"] == "/alerts"
    db.refresh(alert)
    assert alert.read_at is not None and unread_count(db, nurse.id) == 0
    assert "alert-count__number" not in browser.get("/alerts/count").text
    assert db.exec(
        select(AuditEvent).where(AuditEvent.entity_type == "alert", AuditEvent.action == "alert_read")
    ).first()


def test_people_see_and_mark_only_their_own_alerts(db, browser_as, ward, nurse, nurse_principal, now):
    _overdue_action(db, ward, nurse_principal, now)
    other = factories.make_user(db, "nurse", wards=[ward])
    create_due_alerts(db, now=now)
    mine = db.exec(select(Alert).where(Alert.recipient_id == nurse.id)).one()
    theirs = db.exec(select(Alert).where(Alert.recipient_id == other.id)).one()
    browser = browser_as(nurse)
    assert browser.post(f"/alerts/{theirs.id}/read", {"version": str(theirs.version)}).status_code == 404
    assert f'id="alert-{theirs.id}"' not in browser.get("/alerts").text
    assert f'id="alert-{mine.id}"' in browser.get("/alerts").text
    db.refresh(theirs)
    assert theirs.read_at is None


def test_mark_all_read_leaves_alerts_that_came_after_the_page(db, browser_as, ward, nurse, nurse_principal, now):
    _overdue_action(db, ward, nurse_principal, now)
    [first] = create_due_alerts(db, now=now)
    page = browser_as(nurse)
    assert "Mark all as read" in page.get("/alerts").text
    _overdue_action(db, ward, nurse_principal, now)
    [later] = create_due_alerts(db, now=now)
    r = page.post("/alerts/read", {"up_to": str(first)})
    assert r.status_code == 303
    db.expire_all()
    assert db.get(Alert, first).read_at is not None and db.get(Alert, later).read_at is None


def test_settings_are_honoured_by_the_next_check(db, browser_as, ward, nurse, nurse_principal, now):
    browser = browser_as(nurse)
    page = browser.get("/alerts/settings")
    assert page.status_code == 200
    for rule in RULES.values():
        assert rule.label in page.text
    r = browser.post("/alerts/settings", {"email": "not an address", "choice_action_overdue": "off"})
    assert r.status_code == 422 and "Enter an email address" in r.text and "not an address" in r.text
    r = browser.post("/alerts/settings", {"email": "nina@nhs.net", "choice_action_overdue": "off"})
    assert r.status_code == 200 and "Alert settings saved" in r.text
    prefs = db.get(AlertPreferences, nurse.id)
    assert prefs.email == "nina@nhs.net" and prefs.choices == {"action_overdue": "off"}

    # Saving again needs the version the page showed.
    r = browser.post("/alerts/settings", {"email": "nina@nhs.net", "choice_action_overdue": "email"})
    assert r.status_code == 422 and OUT_OF_DATE in r.text
    _overdue_action(db, ward, nurse_principal, now)
    other = factories.make_user(db, "nurse", wards=[ward])
    create_due_alerts(db, now=now)
    recipients = set(db.exec(select(Alert.recipient_id).where(col(Alert.rule_code) == "action_overdue")))
    assert nurse.id not in recipients and other.id in recipients

    r = browser.post(
        "/alerts/settings",
        {"email": "", "choice_action_overdue": "email", "version": str(prefs.version)},
    )
    assert r.status_code == 200
    db.refresh(prefs)
    assert prefs.email == "" and prefs.choices == {"action_overdue": "email"}
