"""Password guesses sent in parallel to a real server process: each attempt is counted before
its password is checked, so only the allowed few are checked, the rest are refused with 429
and Retry-After, none is lost to a conflict, and every one is audited.

The server sees each test's clients at addresses of their own: uvicorn trusts X-Forwarded-For
from 127.0.0.1 (its default --forwarded-allow-ips), as it would from a reverse proxy.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlmodel import Session, col, select

from app.auth.throttle import ACCOUNT_LIMIT, CLIENT_LIMIT, Limit
from app.models import AuditEvent, SignInThrottle
from tests import pages


@dataclass
class Answer:
    status: int
    retry_after: str | None


def _address() -> str:
    """A client address no other test uses."""
    b = uuid.uuid4().bytes
    return f"10.{b[0]}.{b[1]}.{b[2] or 1}"


def _all_at_once(base_url: str, address: str, attempts: list[tuple[str, str]]) -> tuple[list[Answer], float]:
    """Post every (username, password) at once, each from its own connection and session at
    the same client address; return the answers and how long the burst took."""
    start = threading.Barrier(len(attempts))

    def attempt(username: str, password: str) -> tuple[Answer, float]:
        with httpx.Client(base_url=base_url, headers={"X-Forwarded-For": address}, timeout=60) as client:
            token = pages.csrf_from(client.get("/sign-in").text)
            start.wait()
            began = time.monotonic()
            r = client.post(
                "/sign-in", data={"username": username, "password": password, "next": "/", "csrf_token": token}
            )
            return Answer(r.status_code, r.headers.get("retry-after")), began

    with ThreadPoolExecutor(len(attempts)) as pool:
        results = list(pool.map(lambda a: attempt(*a), attempts))
    began = min(b for _, b in results)
    return [a for a, _ in results], time.monotonic() - began


def _allowed(limit: Limit, seconds: float) -> int:
    """How many attempts the limit lets through (counted from none) in a burst this long."""
    allowed, waited = limit.free, 0.0
    while waited + limit.delay(allowed).total_seconds() <= seconds:
        waited += limit.delay(allowed).total_seconds()
        allowed += 1
    return allowed


def _reasons(engine, usernames: list[str]) -> Counter:
    names = [f"sign-in:{u}" for u in usernames]
    with Session(engine) as db:
        events = db.exec(
            select(AuditEvent).where(AuditEvent.action == "sign_in_failed", col(AuditEvent.actor_name).in_(names))
        ).all()
    return Counter(e.after["reason"] for e in events)


def test_thirty_wrong_passwords_at_once_check_only_the_allowed_few(app_process, process_engine, seeded) -> None:
    user = seeded("nurse", patients=1)
    attacker = _address()
    answers, seconds = _all_at_once(app_process.base_url, attacker, [(user.username, f"guess-{n}") for n in range(30)])

    statuses = Counter(a.status for a in answers)
    assert set(statuses) <= {422, 429}, f"conflicts or errors: {dict(statuses)}"
    allowed = _allowed(ACCOUNT_LIMIT, seconds)
    assert 1 <= statuses[422] <= allowed, (dict(statuses), seconds)
    assert all(a.retry_after and int(a.retry_after) >= 1 for a in answers if a.status == 429)
    # Every attempt audited: the checked ones as wrong passwords, the others as refused unchecked.
    assert _reasons(process_engine, [user.username]) == Counter(bad_password=statuses[422], throttled=statuses[429])

    # As after a longer attack, the username now waits its longest: the attacker is refused...
    with Session(process_engine) as db:
        row = db.get(SignInThrottle, ("account", user.username))
        row.failures, row.next_allowed_at = 12, datetime.now(UTC) + ACCOUNT_LIMIT.max_delay
        db.add(row)
        db.commit()
    with httpx.Client(base_url=app_process.base_url, headers={"X-Forwarded-For": attacker}, timeout=30) as again:
        r = pages.sign_in(again, user.username, password="one more guess")
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 60
    # ...and the user, at a device of their own, signs in at once.
    with httpx.Client(base_url=app_process.base_url, headers={"X-Forwarded-For": _address()}, timeout=30) as tablet:
        assert pages.sign_in(tablet, user.username).status_code == 303


def test_one_wrong_password_on_each_of_forty_usernames_is_throttled(app_process, process_engine, seeded) -> None:
    user = seeded("nurse", patients=1)
    suffix = uuid.uuid4().hex[:8]
    usernames = [f"someone-{suffix}-{n}" for n in range(39)] + [user.username]
    sprayer = _address()
    answers, seconds = _all_at_once(app_process.base_url, sprayer, [(u, "Winter2026!") for u in usernames])

    statuses = Counter(a.status for a in answers)
    assert set(statuses) <= {422, 429}, f"conflicts or errors: {dict(statuses)}"
    assert statuses[429] >= len(usernames) - _allowed(CLIENT_LIMIT, seconds), (dict(statuses), seconds)
    assert all(a.retry_after and int(a.retry_after) >= 1 for a in answers if a.status == 429)
    reasons = _reasons(process_engine, usernames)
    assert reasons["throttled"] == statuses[429] and sum(reasons.values()) == len(usernames)

    # Another device is not held back by this one.
    with httpx.Client(base_url=app_process.base_url, headers={"X-Forwarded-For": _address()}, timeout=30) as tablet:
        assert pages.sign_in(tablet, user.username).status_code == 303
