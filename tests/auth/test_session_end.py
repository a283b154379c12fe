"""Sessions end after BOARDROUND_SESSION_MAX_HOURS however active, and at sign-out on every
device (a copied cookie too); the sign-in page says why and returns the user to where they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import col, update

from app.auth.sessions import COOKIE, IDLE, LIFETIME, ended_reason, token_hash, wall_clock
from app.config import Settings
from app.models import UserSession
from tests import factories, pages
from tests.dbs import settings_for

HOUR = 3600


@pytest.fixture
def nina(db, ward, password_hash):
    return factories.make_user(db, "nurse", wards=[ward], username="nina", password_hash=password_hash)


@pytest.fixture
def browsers(live_server):
    clients: list[httpx.Client] = []

    def make() -> httpx.Client:
        client = httpx.Client(base_url=live_server, follow_redirects=False, timeout=10)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def session_row_of(db, browser: httpx.Client) -> UserSession:
    from itsdangerous import URLSafeSerializer

    sid = URLSafeSerializer("t" * 48, salt="boardround.session").loads(browser.cookies[COOKIE])["sid"]
    return db.exec(UserSession.__table__.select().where(UserSession.token_hash == token_hash(sid))).one()


def shift_sign_in_time(db, browser: httpx.Client, seconds_ago: float) -> None:
    """As if this browser signed in `seconds_ago` and was in use a moment ago (its session row)."""
    row = session_row_of(db, browser)
    now = wall_clock()
    db.exec(
        update(UserSession)
        .where(col(UserSession.id) == row.id)
        .values(signed_in_at=now - timedelta(seconds=seconds_ago), seen_at=now)
    )
    db.flush()


def test_a_session_ends_after_twelve_hours_however_active(db, nina, browsers):
    browser = browsers()
    assert pages.sign_in(browser, "nina").status_code == 303
    shift_sign_in_time(db, browser, 12 * HOUR - 60)
    assert browser.get("/?choose=1").status_code == 200  # still signed in
    shift_sign_in_time(db, browser, 12 * HOUR + 60)
    r = browser.get("/?choose=1")
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?next=%2F%3Fchoose%3D1&ended=lifetime"
    page = browser.get(r.headers["location"])
    assert "Your session ended after 12 hours: sign in again to carry on." in page.text
    # Back where they were once signed in again.
    r = browser.post(
        "/sign-in",
        data={
            "username": "nina",
            "password": pages.PASSWORD,
            "next": "/?choose=1",
            "csrf_token": pages.csrf_from(page.text),
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/?choose=1"


def test_htmx_requests_after_the_lifetime_are_sent_to_sign_in(db, nina, browsers):
    browser = browsers()
    pages.sign_in(browser, "nina")
    shift_sign_in_time(db, browser, 13 * HOUR)
    r = browser.get("/", headers={"HX-Request": "true", "HX-Current-URL": "http://x/wards/7"})
    assert r.status_code == 401 and r.headers["hx-redirect"] == "/sign-in?next=%2Fwards%2F7&ended=lifetime"


@pytest.mark.parametrize(
    ("signed_in_ago", "idle_for", "ended"),
    [
        (2 * HOUR, 1, None),  # exactly the lifetime: still valid
        (2 * HOUR + 1, 1, LIFETIME),  # a second more: ended, though in use a second ago
        (2 * HOUR + 1, 16 * 60, IDLE),  # idle as well: the idle timeout is the reason given
    ],
)
def test_the_lifetime_on_a_frozen_clock(signed_in_ago, idle_for, ended):
    settings = Settings(environment="test", secret_key="k" * 48, session_max_hours=2)
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    row = UserSession(
        token_hash="x",
        user_id=7,
        method="password",
        signed_in_at=now - timedelta(seconds=signed_in_ago),
        seen_at=now - timedelta(seconds=idle_for),
    )
    assert ended_reason(row, settings, now) == ended


def test_the_lifetime_is_a_setting(monkeypatch):
    monkeypatch.setenv("BOARDROUND_SESSION_MAX_HOURS", "8")
    assert settings_for("sqlite://").session_max_hours == 8
    with pytest.raises(ValueError):
        Settings(environment="test", secret_key="k" * 48, session_max_hours=0)


def test_signing_out_ends_a_copied_cookie_and_the_other_devices(db, nina, browsers):
    tablet, phone, thief = browsers(), browsers(), browsers()
    pages.sign_in(tablet, "nina")
    pages.sign_in(phone, "nina")
    thief.cookies.set(COOKIE, tablet.cookies[COOKIE])
    assert thief.get("/?choose=1").status_code == 200  # a copied cookie works until sign-out...
    page = tablet.get("/?choose=1")
    assert tablet.post("/sign-out", data={"csrf_token": pages.csrf_from(page.text)}).status_code == 303
    r = thief.get("/?choose=1")  # ...and not after it
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?next=%2F%3Fchoose%3D1&ended=signed_out"
    assert "you signed out on this or another device" in thief.get(r.headers["location"]).text
    assert phone.get("/?choose=1").status_code == 303
    # Signing in again, anywhere, works as before.
    assert pages.sign_in(phone, "nina").status_code == 303
    assert phone.get("/?choose=1").status_code == 200
    assert tablet.get("/?choose=1").status_code == 303


def test_signing_out_leaves_the_users_version_alone(db, nina, browsers):
    version = nina.version
    browser = browsers()
    pages.sign_in(browser, "nina")
    row = session_row_of(db, browser)
    page = browser.get("/?choose=1")
    browser.post("/sign-out", data={"csrf_token": pages.csrf_from(page.text)})
    db.refresh(nina)
    ended = db.get(UserSession, row.id)
    db.refresh(ended)
    assert nina.version == version and ended.ended_at is not None and ended.ended_reason == "signed_out"


def test_background_requests_do_not_keep_a_tablet_signed_in(db, nina, browsers):
    browser = browsers()
    pages.sign_in(browser, "nina")
    row = db.get(UserSession, session_row_of(db, browser).id)
    ten_minutes_ago = wall_clock() - timedelta(minutes=10)
    db.exec(update(UserSession).where(col(UserSession.id) == row.id).values(seen_at=ten_minutes_ago))
    db.flush()
    # A live-update poll is answered but is not activity...
    assert browser.get("/?choose=1", headers={"X-Boardround-Background": "1"}).status_code == 200
    db.refresh(row)
    assert abs((row.seen_at - ten_minutes_ago).total_seconds()) < 1
    # ...a page the person opens is, written at most once a minute.
    assert browser.get("/?choose=1").status_code == 200
    db.refresh(row)
    assert (wall_clock() - row.seen_at).total_seconds() < 60
    # Idle past the limit: the next poll finds the session over, and says why.
    db.exec(
        update(UserSession).where(col(UserSession.id) == row.id).values(seen_at=wall_clock() - timedelta(minutes=16))
    )
    db.flush()
    r = browser.get("/?choose=1", headers={"X-Boardround-Background": "1"})
    assert r.status_code == 303 and r.headers["location"].endswith("&ended=idle")
