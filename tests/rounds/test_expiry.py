"""A form sent after the session ended while it was open (idle on a ward tablet) is not "You do
not have permission": the tablet is sent to sign in, told why, and comes back to the form
(where app.js puts back what was typed: tests/browser/test_round_step.py)."""

from __future__ import annotations

import time

import httpx
import pytest
from itsdangerous import URLSafeSerializer

from app.auth.sessions import COOKIE
from tests import factories, pages

SERIALIZER = URLSafeSerializer("t" * 48, salt="boardround.session")  # the live server's key


@pytest.fixture
def nina(db, ward, password_hash):
    return factories.make_user(db, "nurse", wards=[ward], username="nina", password_hash=password_hash)


@pytest.fixture
def browser(live_server):
    with httpx.Client(base_url=live_server, follow_redirects=False, timeout=10) as client:
        yield client


def idle_for(browser: httpx.Client, seconds: float) -> None:
    data = SERIALIZER.loads(next(c.value for c in browser.cookies.jar if c.name == COOKIE))
    data["seen"] = time.time() - seconds
    browser.cookies.clear()
    browser.cookies.set(COOKIE, SERIALIZER.dumps(data))


def test_a_form_sent_after_idle_expiry_goes_to_sign_in_not_forbidden(db, nina, browser):
    assert pages.sign_in(browser, "nina").status_code == 303
    page = browser.get("/?choose=1")
    token = pages.csrf_from(page.text)
    idle_for(browser, 16 * 60)
    headers = {"HX-Request": "true", "HX-Current-URL": "http://tablet/rounds/4/stays/9", "X-CSRF-Token": token}
    r = browser.post("/rounds/4/stays/9", data={"plan": "Typed before lunch"}, headers=headers)
    assert r.status_code == 401, r.text
    assert r.headers["hx-redirect"] == "/sign-in?next=%2Frounds%2F4%2Fstays%2F9&ended=idle"
    page = browser.get(r.headers["hx-redirect"])
    assert "You were signed out because the tablet was not used for a while" in page.text


def test_a_plain_form_after_idle_expiry_goes_to_sign_in_and_back(db, nina, browser):
    pages.sign_in(browser, "nina")
    token = pages.csrf_from(browser.get("/?choose=1").text)
    idle_for(browser, 16 * 60)
    r = browser.post(
        "/rounds/4/stays/9", data={"csrf_token": token}, headers={"Referer": "http://tablet/rounds/4/stays/9"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?next=%2Frounds%2F4%2Fstays%2F9&ended=idle"


def test_a_wrong_token_in_a_live_session_is_still_refused(db, nina, browser):
    pages.sign_in(browser, "nina")
    r = browser.post("/rounds/4/stays/9", data={"csrf_token": "forged"})
    assert r.status_code == 403 and "This form has expired or did not come from Boardround" in r.text
