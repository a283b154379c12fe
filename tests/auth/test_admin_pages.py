"""Admin user management and the audit viewer, through the pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app.models import ApiToken, AuditEvent, SignInThrottle, User, UserWard
from tests import factories


def test_admin_creates_a_user_with_wards(db, browser_as, ward):
    admin = factories.make_user(db, "admin", display_name="Ada Admin")
    browser = browser_as(admin)
    page = browser.get("/admin/users/new")
    assert page.status_code == 200 and ward.name in page.text
    r = browser.post(
        "/admin/users/new",
        [
            ("username", "Pat.Physio"),
            ("display_name", "Pat Physio"),
            ("role_code", "therapist"),
            ("ward_ids", str(ward.id)),
            ("password", "long enough password"),
        ],
    )
    assert r.status_code == 303, r.text
    user = db.exec(select(User).where(User.username == "pat.physio")).one()
    assert user.role_code == "therapist" and user.password_hash.startswith("$argon2")
    assert db.exec(select(UserWard.ward_id).where(UserWard.user_id == user.id)).all() == [ward.id]
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "user_create")).one()
    assert event.actor_id == admin.id and event.after["ward_ids"] == [ward.id]
    assert "password_hash" not in event.after


def test_bad_new_user_form_keeps_what_was_typed(db, browser_as, ward):
    browser = browser_as(factories.make_user(db, "admin"))
    r = browser.post(
        "/admin/users/new",
        [("username", "bad name!"), ("display_name", "Kept Name"), ("role_code", "nurse"), ("password", "short")],
    )
    assert r.status_code == 422
    assert 'value="Kept Name"' in r.text and "There is a problem" in r.text
    assert 'value="short"' not in r.text


def test_edit_user_conflict_is_reported_not_overwritten(db, browser_as, ward):
    admin = factories.make_user(db, "admin")
    target = factories.make_user(db, "nurse", wards=[ward], display_name="Old Name")
    browser = browser_as(admin)
    browser.get(f"/admin/users/{target.id}")
    stale = target.version
    target.display_name = "Changed Elsewhere"
    db.flush()
    r = browser.post(
        f"/admin/users/{target.id}",
        [
            ("display_name", "My Edit"),
            ("role_code", "nurse"),
            ("ward_ids", str(ward.id)),
            ("is_active", "yes"),
            ("version", str(stale)),
        ],
    )
    assert r.status_code == 409 and "Someone else changed this user" in r.text
    db.refresh(target)
    assert target.display_name == "Changed Elsewhere"


def test_admin_disables_resets_and_unlocks(db, browser_as, ward, now):
    admin = factories.make_user(db, "admin")
    target = factories.make_user(db, "nurse", wards=[ward])
    db.add(
        SignInThrottle(
            scope="account",
            key=target.username.lower(),
            failures=8,
            window_started_at=now,
            next_allowed_at=now + timedelta(minutes=4),
        )
    )
    db.flush()
    browser = browser_as(admin)
    assert "Sign-in delayed" in browser.get("/admin/users").text
    page = browser.get(f"/admin/users/{target.id}")
    assert "8 failed sign-in attempts" in page.text and "Clear failed sign-ins" in page.text
    r = browser.post(
        f"/admin/users/{target.id}",
        [
            ("display_name", target.display_name),
            ("role_code", "nurse"),
            ("ward_ids", str(ward.id)),
            ("version", str(target.version)),
        ],
    )
    assert r.status_code == 200 and "Changes saved" in r.text
    db.refresh(target)
    assert target.is_active is False
    assert browser.post(f"/admin/users/{target.id}/unlock").status_code == 200
    assert db.get(SignInThrottle, ("account", target.username.lower())) is None
    assert "Sign-in delayed" not in browser.get("/admin/users").text
    unlock = db.exec(select(AuditEvent).where(AuditEvent.action == "user_unlock")).one()
    assert unlock.before == {"failed_sign_ins": 8} and unlock.after == {"failed_sign_ins": 0}
    assert browser.post(f"/admin/users/{target.id}/password", {"password": "another long password"}).status_code == 200
    actions = db.exec(
        select(AuditEvent.action).where(AuditEvent.entity_type == "user", AuditEvent.entity_id == str(target.id))
    ).all()
    assert {"user_update", "user_reset_password", "user_unlock"} <= set(actions)


def test_integration_tokens_are_shown_once_and_revocable(db, browser_as, api_as):
    admin = factories.make_user(db, "admin")
    pas = factories.make_user(db, "integration", is_service_account=True)
    browser = browser_as(admin)
    r = browser.post(f"/admin/users/{pas.id}/tokens", {"name": "PAS feed"})
    raw = r.text.split('id="new-token">')[1].split("<")[0]
    assert raw.startswith("brt_")
    token = db.exec(select(ApiToken).where(ApiToken.user_id == pas.id)).one()
    assert token.token_hash != raw and raw not in browser.get(f"/admin/users/{pas.id}").text
    from tests.conftest import Api

    client = Api(str(browser.client.base_url), raw)
    assert client.get("/wards").status_code == 200
    browser.post(f"/admin/users/{pas.id}/tokens/{token.id}/revoke")
    assert client.get("/wards").status_code == 401


def test_only_admins_manage_users(db, browser_as, ward):
    manager = factories.make_user(db, "ward_manager", wards=[ward])
    browser = browser_as(manager)
    assert browser.get("/admin/users").status_code == 403
    assert browser.post("/admin/users/new", {"username": "x"}).status_code == 403


def test_audit_viewer_filters_and_shows_before_after(db, browser_as, ward, nurse_principal, now):
    from datetime import date

    manager = factories.make_user(db, "ward_manager", wards=[ward])
    stay = factories.make_stay(db, nurse_principal, ward, None)
    factories.make_edd(db, nurse_principal, stay, date(2026, 3, 12), now=now)
    factories.make_edd(db, nurse_principal, stay, date(2026, 3, 14), reason="Awaiting echo", now=now)
    other_ward = factories.make_ward(db, beds=1)
    other_nurse = factories.principal(db, factories.make_user(db, "nurse", wards=[other_ward]))
    factories.make_stay(db, other_nurse, other_ward, None)
    patient = db.get(factories.Patient, stay.patient_id)
    browser = browser_as(manager)
    browser.get("/audit")
    r = browser.post("/audit", {"patient": patient.nhs_number, "date_from": "2026-03-10", "date_to": "2026-03-10"})
    assert r.status_code == 303
    page = browser.get(r.headers["location"])
    assert page.status_code == 200
    assert "12 Mar 2026 → 14 Mar 2026" in page.text and "Awaiting echo" in page.text  # London dates, in words
    assert "Nina Nurse" in page.text and patient.family_name.upper() in page.text
    # Another ward's events are not shown to this ward manager.
    everything = browser.get("/audit").text
    assert other_ward.name not in everything
    assert browser.get("/audit", params={"user": "nobody"}).status_code == 200
    assert "No user matches that" in browser.get("/audit", params={"user": "nobody"}).text
    assert browser.get("/audit", params={"date_from": "31/02/2026"}).status_code == 422


def test_nurses_cannot_read_the_audit_trail(db, browser_as, nurse):
    assert browser_as(nurse).get("/audit").status_code == 403


@pytest.mark.parametrize(
    ("date_to", "message"),
    [("9999-12-31", "Enter a date between 1 January 1900 and 31 December 2100"), ("0", "Enter a date as YYYY-MM-DD")],
)
def test_audit_dates_far_away_or_not_iso_are_field_errors(db, browser_as, ward, date_to, message):
    """9999-12-31 overflowed when a day was added (500); "0" was read as 1 January 1970."""
    browser = browser_as(factories.make_user(db, "ward_manager", wards=[ward]))
    page = browser.get("/audit", params={"date_to": date_to})
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert message in page.text and f'value="{date_to}"' in page.text
