"""Single sign-on end to end: a real OpenID provider (the `oidc-provider` npm package, started by
tests/sso_provider.py) and Boardround in its own uvicorn process configured for it, driven by
Chromium (the full sign-in, the provider's logouts) and by plain HTTP clients (many users at once).

Covers: the authorisation code flow with PKCE through the provider's login page, just-in-time
creation with role and wards from the claims, back-channel logout from the provider ending a
live session, RP-initiated logout, an administrator ending a session, switching user on a shared
tablet, and the permission matrix for users who signed in this way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.auth.permissions import allows
from app.models import User, UserSession, Ward
from app.users.service import ward_ids_of
from tests import factories
from tests.browser.conftest import TIMEOUT_MS
from tests.browser.helpers import path_of
from tests.security.test_permissions import PAGES, PUBLIC
from tests.servers import LiveServer, free_port, start_server, stop_server
from tests.sso_provider import OidcProvider

ACCOUNTS = {
    "sam": {"name": "Sam Sister", "preferred_username": "sam.sister", "groups": ["g-nurses", "g-amu"]},
    "dee": {"name": "Dee Doctor", "preferred_username": "dee.doctor", "groups": ["g-doctors", "g-amu", "g-w1"]},
    "ada": {"name": "Ada Admin", "preferred_username": "ada.admin", "groups": ["R8000"]},
    "nat": {"name": "Nat Nurse", "preferred_username": "nat.nurse", "groups": ["R8001", "g-w1"]},
    "lee": {"name": "Lee Leaver", "preferred_username": "lee.leaver", "groups": ["g-gone"]},
}


class Sso:
    def __init__(self, server: LiveServer, provider: OidcProvider, engine: Engine) -> None:
        self.server = server
        self.provider = provider
        self.engine = engine
        self.base_url = server.base_url

    def user(self, username: str) -> User | None:
        with Session(self.engine) as db:
            return db.exec(select(User).where(User.username == username)).first()

    def sessions_of(self, username: str) -> list[UserSession]:
        with Session(self.engine) as db:
            user = db.exec(select(User).where(User.username == username)).one()
            return list(db.exec(select(UserSession).where(UserSession.user_id == user.id)))

    def ward_codes_of(self, username: str) -> list[str]:
        with Session(self.engine) as db:
            user = db.exec(select(User).where(User.username == username)).one()
            return sorted(db.get(Ward, w).code for w in ward_ids_of(db, user.id))

    def http_sign_in(self, login: str) -> httpx.Client:
        """The whole flow over HTTP: Boardround, the provider's login form, back to Boardround."""
        client = httpx.Client(follow_redirects=True, timeout=10)
        page = client.get(f"{self.base_url}/auth/oidc/start")
        assert page.url.host == "127.0.0.1" and page.url.port == self.provider.port, page.url
        action = re.search(r'<form autocomplete="off" action="([^"]+)"', page.text)
        assert action, page.text[:500]
        done = client.post(
            urljoin(str(page.url), action.group(1)), data={"prompt": "login", "login": login, "password": "x"}
        )
        assert str(done.url).startswith(self.base_url), (done.url, done.text[:300])
        client.follow_redirects = False
        return client


@pytest.fixture(scope="session")
def sso(browser_engine: Engine, provider_node: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sso]:
    workdir = tmp_path_factory.mktemp(f"sso-{browser_engine.dialect.name}")
    with Session(browser_engine) as db:
        site = factories.make_site(db, code="SSO-SITE")
        for code in ("SSO-AMU", "SSO-W1"):
            factories.make_ward(db, site=site, code=code)
        db.commit()
    provider = OidcProvider(node=provider_node, workdir=workdir, port=free_port(), app_base_url="", accounts=ACCOUNTS)
    url = browser_engine.url.render_as_string(hide_password=False)
    server = start_server(url, workdir / "uvicorn.log", env=provider.settings_env())
    provider.app_base_url = server.base_url
    try:
        provider.start()
    except Exception:
        stop_server(server.process)
        raise
    yield Sso(server, provider, browser_engine)
    provider.stop()
    stop_server(server.process)


@pytest.fixture
def chromium_page(chromium, sso: Sso):
    contexts = []

    def make():
        context = chromium.new_context(base_url=sso.base_url, locale="en-GB", timezone_id="Europe/London")
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in_with_provider(page, sso: Sso, login: str) -> None:
    page.goto("/sign-in")
    with page.expect_navigation():
        page.get_by_role("link", name="Sign in with the test provider").click()
    page.wait_for_url(re.compile(rf"^{re.escape(sso.provider.issuer)}/interaction/"))
    page.locator('input[name="login"]').fill(login)
    page.locator('input[name="password"]').fill("anything")
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_url(re.compile(rf"^{re.escape(sso.base_url)}/(?!sign-in|auth/)"))


def test_full_sign_in_in_chromium_creates_the_user_just_in_time(chromium_page, sso):
    page = chromium_page()
    sign_in_with_provider(page, sso, "sam")
    # One ward from the claims: the home page goes straight to its board.
    page.wait_for_url(re.compile(r"/wards/SSO-AMU$"))
    assert page.locator(".nhsuk-header__account").inner_text().count("Sam Sister") == 1
    sam = sso.user("sam.sister")
    assert sam is not None and sam.role_code == "nurse" and sam.oidc_subject == "sam" and sam.password_hash is None
    assert sso.ward_codes_of("sam.sister") == ["SSO-AMU"]
    live = [s for s in sso.sessions_of("sam.sister") if s.ended_at is None]
    assert live and live[-1].method == "oidc" and live[-1].oidc_sid  # the provider's session id, for logout


def test_back_channel_logout_from_the_provider_ends_a_live_session(chromium_page, sso):
    page = chromium_page()
    sign_in_with_provider(page, sso, "dee")
    page.goto("/?choose=1")
    assert path_of(page) == "/"
    # The person signs out at the provider (another application, or the provider's own page):
    # the provider calls Boardround server to server.
    page.goto(f"{sso.provider.issuer}/session/end")
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(re.compile(rf"^{re.escape(sso.provider.issuer)}/session/end/success"))
    ended = [s for s in sso.sessions_of("dee.doctor") if s.ended_reason == "idp_logout"]
    assert ended, sso.provider.log()
    page.goto("/?choose=1")
    assert path_of(page) == "/sign-in"
    assert "You signed out of your organisation's account" in page.content()


def test_signing_out_of_boardround_signs_out_of_the_provider_too(chromium_page, sso):
    page = chromium_page()
    sign_in_with_provider(page, sso, "nat")
    page.goto("/?choose=1")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out", exact=True).click()
    # RP-initiated logout: the provider asks, then sends the browser back to Boardround's sign-in.
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(re.compile(rf"^{re.escape(sso.base_url)}/sign-in"))
    assert all(s.ended_at is not None for s in sso.sessions_of("nat.nurse"))
    # The provider's session is over too: signing in again asks for the login, not silently.
    page.get_by_role("link", name="Sign in with the test provider").click()
    page.wait_for_url(re.compile(rf"^{re.escape(sso.provider.issuer)}/interaction/"))
    assert page.locator('input[name="login"]').is_visible()


def test_switch_user_keeps_the_ward_for_the_next_person(chromium_page, sso, user_with_password):
    from tests.browser.helpers import sign_in

    with Session(sso.engine) as db:
        amu = db.exec(select(Ward).where(Ward.code == "SSO-AMU")).one()
        amu_id = amu.id
    first = user_with_password("nurse", [amu_id])
    second = user_with_password("doctor", [amu_id])
    page = chromium_page()
    sign_in(page, first.username)
    page.wait_for_url(re.compile(r"/wards/SSO-AMU$"))
    # The service worker keeps the last board for offline use once it controls the page.
    page.wait_for_function("navigator.serviceWorker.controller !== null || (location.reload(), false)", polling=500)
    page.wait_for_function("async () => (await caches.open('boardround-boards-v1').then(c => c.keys())).length > 0")
    with page.expect_navigation():
        page.get_by_role("button", name="Switch user").click()
    assert path_of(page) == "/sign-in"
    assert "The last person signed out of this device" in page.content()
    # The first person's cached boards are gone; the ward stays chosen on the device.
    page.wait_for_function("async () => !(await caches.has('boardround-boards-v1'))")
    assert {c["name"]: c["value"] for c in page.context.cookies()}["boardround_ward"] == "SSO-AMU"
    sign_in(page, second.username)
    page.wait_for_url(re.compile(r"/wards/SSO-AMU$"))
    with Session(sso.engine) as db:
        rows = db.exec(select(UserSession).where(UserSession.user_id == first.id)).all()
    assert [r.ended_reason for r in rows] == ["switched"]


def test_an_administrator_sees_and_ends_an_sso_session(sso):
    nurse = sso.http_sign_in("sam")
    admin = sso.http_sign_in("ada")
    assert nurse.get(f"{sso.base_url}/?choose=1").status_code == 200
    page = admin.get(f"{sso.base_url}/admin/sessions")
    assert page.status_code == 200 and "Sam Sister" in page.text and "Single sign-on" in page.text
    sam_row = max((s for s in sso.sessions_of("sam.sister") if s.ended_at is None), key=lambda s: s.signed_in_at)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = admin.post(f"{sso.base_url}/admin/sessions/{sam_row.id}/end", data={"csrf_token": csrf})
    assert r.status_code == 200 and "Session ended." in r.text
    r = nurse.get(f"{sso.base_url}/?choose=1")
    assert r.status_code == 303 and r.headers["location"].endswith("&ended=admin")
    # The administrator's own session carries on.
    assert admin.get(f"{sso.base_url}/admin/sessions").status_code == 200


def test_claims_without_a_role_are_refused(sso):
    client = httpx.Client(follow_redirects=True, timeout=10)
    page = client.get(f"{sso.base_url}/auth/oidc/start")
    action = re.search(r'<form autocomplete="off" action="([^"]+)"', page.text).group(1)
    done = client.post(urljoin(str(page.url), action), data={"prompt": "login", "login": "lee", "password": "x"})
    assert done.status_code == 403 and "does not give you a role in Boardround" in done.text
    assert sso.user("lee.leaver") is None


def test_a_forged_back_channel_logout_is_refused(sso):
    from tests.sso_provider import new_key

    nurse = sso.http_sign_in("nat")
    row = max((s for s in sso.sessions_of("nat.nurse") if s.ended_at is None), key=lambda s: s.signed_in_at)
    claims = {
        "iss": sso.provider.issuer,
        "aud": "boardround",
        "iat": int(datetime.now(UTC).timestamp()),
        "jti": "forged",
        "sid": row.oidc_sid,
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    }
    forged = sso.provider.mint(claims, key=new_key(sso.provider.keys[0].kid))
    r = httpx.post(f"{sso.base_url}/auth/oidc/back-channel-logout", data={"logout_token": forged})
    assert r.status_code == 400
    assert nurse.get(f"{sso.base_url}/?choose=1").status_code == 200
    # The same claims signed by the provider's real key end it.
    r = httpx.post(f"{sso.base_url}/auth/oidc/back-channel-logout", data={"logout_token": sso.provider.mint(claims)})
    assert r.status_code == 200
    assert nurse.get(f"{sso.base_url}/?choose=1").status_code == 303


@pytest.mark.parametrize(("login", "role"), [("sam", "nurse"), ("dee", "doctor"), ("ada", "admin")])
def test_the_permission_matrix_is_the_same_for_sso_users(sso, login, role):
    client = sso.http_sign_in(login)
    checked = 0
    for (method, path), perm in sorted(PAGES.items()):
        if method != "GET" or "{" in path or path.endswith("/events") or perm == PUBLIC:
            continue
        r = client.get(f"{sso.base_url}{path}")
        if perm is not None and not allows(role, perm):
            assert r.status_code == 403, (role, path, r.status_code)
        else:
            assert r.status_code not in (401, 403) and r.status_code < 500, (role, path, r.status_code)
        checked += 1
    assert checked >= 10


def test_front_channel_logout_ends_the_provider_sessions_sessions(sso):
    nurse = sso.http_sign_in("sam")
    row = max((s for s in sso.sessions_of("sam.sister") if s.ended_at is None), key=lambda s: s.signed_in_at)
    # The provider's logout page loads this in a hidden frame, with its issuer and session id.
    r = httpx.get(
        f"{sso.base_url}/auth/oidc/front-channel-logout", params={"iss": sso.provider.issuer, "sid": row.oidc_sid}
    )
    assert r.status_code == 200
    assert f"frame-ancestors {sso.provider.issuer}" in r.headers["content-security-policy"]
    assert nurse.get(f"{sso.base_url}/?choose=1").status_code == 303
    # Another issuer's word ends nothing.
    again = sso.http_sign_in("sam")
    row = max((s for s in sso.sessions_of("sam.sister") if s.ended_at is None), key=lambda s: s.signed_in_at)
    httpx.get(
        f"{sso.base_url}/auth/oidc/front-channel-logout", params={"iss": "https://elsewhere", "sid": row.oidc_sid}
    )
    assert again.get(f"{sso.base_url}/?choose=1").status_code == 200


def test_an_administrator_turns_password_sign_in_off_and_on(sso, user_with_password):
    from tests.pages import PASSWORD

    local = user_with_password("nurse")
    admin = sso.http_sign_in("ada")
    page = admin.get(f"{sso.base_url}/admin/sessions")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    try:
        r = admin.post(f"{sso.base_url}/admin/sign-in-policy", data={"csrf_token": csrf, "local_sign_in": "off"})
        assert r.status_code == 200 and "Password sign-in is off." in r.text
        with httpx.Client(base_url=sso.base_url, timeout=10) as tablet:
            sign_in_page = tablet.get("/sign-in")
            assert 'name="password"' not in sign_in_page.text and "Sign in with the test provider" in sign_in_page.text
            token = re.search(
                r'"X-CSRF-Token": "([^"]+)"', sign_in_page.text.replace("&#34;", '"').replace("&quot;", '"')
            )
            assert token, sign_in_page.text[:2000]
            refused = tablet.post(
                "/sign-in",
                data={"username": local.username, "password": PASSWORD, "csrf_token": token.group(1)},
            )
            assert refused.status_code == 403
    finally:
        r = admin.post(f"{sso.base_url}/admin/sign-in-policy", data={"csrf_token": csrf, "local_sign_in": "on"})
        assert r.status_code == 200 and "Password sign-in is on." in r.text
