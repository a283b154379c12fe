"""Sign-in throttling through the real pages, on a frozen clock: a username's failures make the
next attempt wait (doubling, capped), a client's failures across usernames do too, a clean
device still signs in, every attempt is audited. Parallel attempts against a real server
process: tests/reliability/test_sign_in_attempts.py."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from app.auth import throttle
from app.models import AuditEvent, SignInThrottle
from tests import factories, pages

PASSWORD = pages.PASSWORD


@pytest.fixture
def nina(db, ward, password_hash):
    return factories.make_user(db, "nurse", wards=[ward], username="nina", password_hash=password_hash)


@pytest.fixture
def client_at(live_server):
    """client_at("10.0.0.1") -> a browser whose address the server sees as that one (uvicorn
    trusts X-Forwarded-For from 127.0.0.1, as it would from a proxy given --forwarded-allow-ips)."""
    clients: list[httpx.Client] = []

    def make(address: str) -> httpx.Client:
        client = httpx.Client(
            base_url=live_server, follow_redirects=False, timeout=10, headers={"X-Forwarded-For": address}
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def failures(db, username: str) -> list[dict]:
    events = db.exec(
        select(AuditEvent).where(AuditEvent.action == "sign_in_failed", AuditEvent.actor_name == f"sign-in:{username}")
    ).all()
    return [e.after for e in events]


def test_failures_at_a_username_make_the_next_attempt_wait_doubling_up_to_five_minutes(db, nina, client_at, clock):
    tablet = client_at("10.1.0.1")
    for _ in range(3):
        assert pages.sign_in(tablet, "nina", password="wrong").status_code == 422
    # Even the right password waits: it is refused before the hash is checked.
    r = pages.sign_in(tablet, "nina")
    assert r.status_code == 429 and r.headers["retry-after"] == "2"
    assert "Too many failed sign-in attempts for this username. Try again in 2 seconds" in r.text
    assert 'value="nina"' in r.text and PASSWORD not in r.text
    waits = []
    for _ in range(12):
        clock.advance(seconds=int(r.headers.get("retry-after", 0)))
        r = pages.sign_in(tablet, "nina", password="wrong")
        assert r.status_code == 422, r.text
        r = pages.sign_in(tablet, "nina", password="wrong")
        assert r.status_code == 429
        waits.append(int(r.headers["retry-after"]))
    assert waits == [4, 8, 16, 32, 64, 128, 256, 300, 300, 300, 300, 300]
    assert "Try again in 5 minutes (after " in r.text
    clock.advance(seconds=300)
    assert pages.sign_in(tablet, "nina").status_code == 303
    reasons = [f["reason"] for f in failures(db, "nina")]
    assert reasons.count("bad_password") == 15 and reasons.count("throttled") == 13
    assert all(f["client"] == "10.1.0.1" for f in failures(db, "nina"))
    assert "wrong" not in str(failures(db, "nina"))


def test_a_correct_password_starts_the_count_again(db, nina, client_at, clock):
    tablet = client_at("10.1.0.2")
    for _ in range(2):
        pages.sign_in(tablet, "nina", password="wrong")
    assert pages.sign_in(tablet, "nina").status_code == 303
    other = client_at("10.1.0.2")
    for _ in range(3):
        assert pages.sign_in(other, "nina", password="wrong").status_code == 422


def test_someone_guessing_cannot_keep_the_user_out_of_a_device_without_failures(db, nina, client_at, clock):
    attacker = client_at("10.9.9.9")
    for _ in range(12):
        pages.sign_in(attacker, "nina", password="guess")
        clock.advance(seconds=1)
    assert pages.sign_in(attacker, "nina").status_code == 429
    # Nina's own tablet has no failures: it may try while her username waits...
    ward_tablet = client_at("10.1.0.3")
    assert pages.sign_in(ward_tablet, "nina").status_code == 303
    # ...but only while it has none: a wrong password there waits like anywhere else.
    colleague = client_at("10.1.0.4")
    for _ in range(3):
        pages.sign_in(attacker, "nina", password="guess")
    assert pages.sign_in(colleague, "nina", password="typo").status_code == 422
    assert pages.sign_in(colleague, "nina").status_code == 429


def test_one_client_trying_many_usernames_is_slowed_down(db, nina, client_at, clock):
    sprayer = client_at("10.2.0.1")
    for n in range(throttle.CLIENT_LIMIT.free):
        assert pages.sign_in(sprayer, f"someone{n}", password="Winter2026!").status_code == 422
    r = pages.sign_in(sprayer, "nina")
    assert r.status_code == 429 and r.headers["retry-after"] == "2"
    assert "Too many failed sign-in attempts from this device" in r.text
    assert failures(db, "nina") == [{"reason": "throttled", "client": "10.2.0.1", "limit": "client", "retry_after": 2}]
    # Other devices are not affected; an hour later the count starts again.
    assert pages.sign_in(client_at("10.2.0.2"), "nina").status_code == 303
    clock.advance(hours=1)
    assert pages.sign_in(sprayer, "someone-else", password="Spring2026!").status_code == 422


def test_a_client_told_when_to_come_back_is_not_refused_then_by_the_username(db, nina, client_at, now):
    for scope, key, count, wait in (("client", "10.2.0.3", 20, 2), ("account", "nina", 6, 16)):
        until = now + timedelta(seconds=wait)
        db.add(SignInThrottle(scope=scope, key=key, failures=count, window_started_at=now, next_allowed_at=until))
    db.flush()
    r = pages.sign_in(client_at("10.2.0.3"), "nina")
    assert r.status_code == 429 and r.headers["retry-after"] == "16"


def test_unknown_usernames_wait_like_real_ones(db, client_at):
    client = client_at("10.3.0.1")
    statuses = [pages.sign_in(client, "nobody", password="guess").status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]
    assert [f["reason"] for f in failures(db, "nobody")] == ["unknown_user"] * 3 + ["throttled"]


def test_correct_passwords_do_not_count_against_a_busy_shared_tablet(db, ward, password_hash, client_at, now):
    # A ward tablet one typo short of its limit (typed wrong all morning).
    db.add(
        SignInThrottle(
            scope="client",
            key="10.4.0.1",
            failures=throttle.CLIENT_LIMIT.free - 1,
            window_started_at=now,
            next_allowed_at=now,
        )
    )
    db.flush()
    tablet = client_at("10.4.0.1")
    staff = [factories.make_user(db, "nurse", wards=[ward], password_hash=password_hash) for _ in range(3)]
    for user in staff:
        assert pages.sign_in(tablet, user.username).status_code == 303, user.username
        tablet.cookies.clear()
    assert db.get(SignInThrottle, ("client", "10.4.0.1")).failures == throttle.CLIENT_LIMIT.free - 1
    assert pages.sign_in(tablet, staff[0].username, password="typo").status_code == 422
    assert pages.sign_in(tablet, staff[1].username).status_code == 429


def test_an_admin_password_reset_lets_the_user_in_at_once(db, nina, client_at, browser_as):
    tablet = client_at("10.5.0.1")
    for _ in range(4):
        pages.sign_in(tablet, "nina", password="wrong")
    assert pages.sign_in(tablet, "nina").status_code == 429
    admin = browser_as(factories.make_user(db, "admin"))
    assert admin.post(f"/admin/users/{nina.id}/password", {"password": "a brand new password"}).status_code == 200
    assert pages.sign_in(tablet, "nina", password="a brand new password").status_code == 303


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        (None, "unknown"),
        ("testclient", "testclient"),
    ],
)
def test_client_keys(host, key):
    assert throttle.client_key(host) == key


def test_the_wait_doubles_after_the_free_attempts_and_stops_at_the_cap():
    limit = throttle.ACCOUNT_LIMIT
    assert [limit.delay(n).total_seconds() for n in range(1, 13)] == [0, 0, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert throttle.CLIENT_LIMIT.delay(10_000).total_seconds() == 15 * 60


def test_attempts_delete_counters_nobody_has_used_for_a_day(db, nina, client_at, now):
    old = now - timedelta(days=1, minutes=1)
    for n in range(3):
        db.add(
            SignInThrottle(scope="client", key=f"10.6.0.{n}", failures=5, window_started_at=old, next_allowed_at=old)
        )
    recent = now - timedelta(hours=23)
    db.add(SignInThrottle(scope="account", key="recent", failures=5, window_started_at=recent, next_allowed_at=recent))
    db.flush()
    pages.sign_in(client_at("10.6.1.1"), "nina", password="wrong")
    left = set(db.exec(select(SignInThrottle.key)).all())
    assert left == {"recent", "10.6.1.1", "nina"}
