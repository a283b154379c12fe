"""Signing in through the real pages over HTTP: sessions, CSRF, expiry, headers (throttling:
test_throttle.py; session lifetime and sign-out: test_session_end.py)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import httpx
import pytest
from itsdangerous import URLSafeSerializer
from sqlmodel import col, select, update

from app.auth.passwords import hash_password
from app.auth.sessions import COOKIE, token_hash
from app.models import AuditEvent, UserSession
from app.users import service as users
from tests import factories

PASSWORD = "correct horse battery"  # noqa: S105


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def browser(live_server):
    with httpx.Client(base_url=live_server, follow_redirects=False, timeout=10) as client:
        yield client


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(browser, username, password=PASSWORD, next_="/"):
    page = browser.get("/sign-in", params={"next": next_})
    return browser.post(
        "/sign-in", data={"username": username, "password": password, "next": next_, "csrf_token": csrf_from(page.text)}
    )


@pytest.fixture
def nurse_with_password(db, ward, password_hash):
    return factories.make_user(
        db, "nurse", wards=[ward], username="nina", display_name="Nina Nurse", password_hash=password_hash
    )


def test_pages_need_sign_in_and_return_to_where_you_were(db, browser, nurse_with_password, ward):
    r = browser.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?next=%2F"
    r = sign_in(browser, "nina", next_="/audit?ward=1")
    assert r.status_code == 303 and r.headers["location"] == "/audit?ward=1"
    home = browser.get("/?choose=1")
    assert home.status_code == 200
    assert ward.name in home.text and "Nina Nurse" in home.text
    cookie = next(c for c in browser.cookies.jar if c.name == COOKIE)
    assert cookie.has_nonstandard_attr("HttpOnly")
    raw = home.request.headers.get("cookie", "")
    assert COOKIE in raw


def test_sign_in_never_redirects_off_site(db, browser, nurse_with_password):
    r = sign_in(browser, "nina", next_="//evil.example/")
    assert r.headers["location"] == "/"


def test_wrong_password_keeps_the_username_and_shows_the_error(db, browser, nurse_with_password):
    r = sign_in(browser, "nina", password="nope")
    assert r.status_code == 422
    assert 'value="nina"' in r.text and "There is a problem" in r.text
    assert "Enter a correct username and password" in r.text
    assert PASSWORD not in r.text


def test_sign_in_and_failures_are_audited_without_the_password(db, browser, nurse_with_password):
    sign_in(browser, "nina", password="wrong-guess")
    sign_in(browser, "nina")
    events = db.exec(select(AuditEvent).where(AuditEvent.entity_type == "user").order_by(AuditEvent.id)).all()
    assert [e.action for e in events][-2:] == ["sign_in_failed", "sign_in"]
    assert events[-1].actor_id == nurse_with_password.id
    assert "wrong-guess" not in str([(e.before, e.after, e.actor_name) for e in events])


def test_post_without_csrf_token_is_refused(db, browser, nurse_with_password):
    sign_in(browser, "nina")
    r = browser.post("/sign-out")
    assert r.status_code == 403 and "Form expired" in r.text
    r = browser.post("/sign-in", data={"username": "nina", "password": PASSWORD})
    assert r.status_code == 403
    # A signed-in browser cannot use its cookie against the JSON API without the token either.
    r = browser.post("/api/v1/patients", json={})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    page = browser.get("/?choose=1")
    r = browser.post("/api/v1/patients", json={}, headers={"X-CSRF-Token": csrf_from(page.text)})
    assert r.status_code == 422  # past CSRF and auth, on to validation


def test_sign_out_ends_the_session(db, browser, nurse_with_password):
    sign_in(browser, "nina")
    page = browser.get("/?choose=1")
    r = browser.post("/sign-out", data={"csrf_token": csrf_from(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?signed_out=1"
    assert browser.get("/?choose=1").status_code == 303
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "sign_out")).first() is not None


def test_idle_session_expires_and_says_why(db, browser, nurse_with_password):
    sign_in(browser, "nina")
    sid = URLSafeSerializer("t" * 48, salt="boardround.session").loads(browser.cookies[COOKIE])["sid"]
    db.exec(
        update(UserSession)
        .where(col(UserSession.token_hash) == token_hash(sid))
        .values(seen_at=datetime.fromtimestamp(time.time() - 16 * 60, UTC))
    )
    db.flush()
    r = browser.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?next=%2F&ended=idle"
    assert "not used for a while" in browser.get(r.headers["location"]).text


def test_htmx_requests_after_expiry_are_sent_to_sign_in(db, browser):
    r = browser.get("/", headers={"HX-Request": "true", "HX-Current-URL": "http://x/wards/7?filter=nctr"})
    assert r.status_code == 401 and r.headers["hx-redirect"] == "/sign-in?next=%2Fwards%2F7%3Ffilter%3Dnctr"


def test_a_history_restore_after_expiry_gets_a_plain_redirect(db, browser):
    # A history restore wants a whole page (app.web.htmx.is_htmx), even if marked as an htmx request.
    restore = {"HX-Request": "true", "HX-History-Restore-Request": "true", "HX-Current-URL": "http://x/elsewhere"}
    r = browser.get("/?choose=1", headers=restore)
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?next=%2F%3Fchoose%3D1"


def test_password_reset_ends_existing_sessions(db, browser, nurse_with_password):
    sign_in(browser, "nina")
    assert browser.get("/?choose=1").status_code == 200
    users.reset_password(db, actor=None, user=nurse_with_password, password="a new long password", now=factories.NOW)
    db.flush()
    r = browser.get("/?choose=1")
    assert r.status_code == 303 and r.headers["location"].endswith("&ended=password")
    assert "Your password was changed" in browser.get(r.headers["location"]).text


def test_disabled_users_are_signed_out(db, browser, nurse_with_password):
    sign_in(browser, "nina")
    nurse_with_password.is_active = False
    db.flush()
    assert browser.get("/?choose=1").status_code == 303


def test_security_headers(db, browser, nurse_with_password):
    sign_in(browser, "nina")
    r = browser.get("/?choose=1")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert f'nonce="{nonce}"' in r.text
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"
    api = browser.get("/api/v1/openapi.json")
    assert api.headers["cache-control"] == "no-store"


def test_service_accounts_cannot_sign_in(db, browser, password_hash):
    factories.make_user(db, "integration", username="pas", password_hash=password_hash, is_service_account=True)
    assert sign_in(browser, "pas").status_code == 422


def test_api_docs_are_served_locally(browser):
    r = browser.get("/docs")
    assert r.status_code == 200
    assert "/static/vendor/swagger-ui-dist-5.35.0/swagger-ui-bundle.js" in r.text
    assert "http" not in re.sub(r"<a [^>]*>", "", r.text).split("<body>")[0].replace("http-equiv", "")


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient` is deprecated")
def test_password_sign_in_can_be_turned_off():
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.dbs import settings_for

    app = create_app(settings_for("sqlite://").model_copy(update={"password_sign_in": False}))
    client = TestClient(app, follow_redirects=False)
    page = client.get("/sign-in")
    assert page.status_code == 200 and 'name="password"' not in page.text
    from app.auth.sessions import BrowserSession

    sid = URLSafeSerializer("t" * 48, salt="boardround.session").loads(client.cookies[COOKIE])["sid"]
    token = BrowserSession(sid=sid).csrf_token("t" * 48)
    r = client.post("/sign-in", data={"username": "nina", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 403 and "passwords are turned off here" in r.text
