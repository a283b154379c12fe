"""The demo's first morning: every role signs in to work waiting for it (app/demo/work.py)."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from app.auth.passwords import hash_password
from app.demo import build_demo
from app.demo.data import DEMO_USERS
from app.models import Alert, Escalation, Referral, User

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
_hash = functools.cache(hash_password)
ESCALATION_ROLES = {"wardmanager", "flow", "sponsor"}


@pytest.fixture
def demo_users(db):
    # Five wards: the demo sponsor has two of them (four sponsors share them), so lands on the start page.
    build_demo(db, seed=7, now=NOW, hasher=_hash, wards=5, beds_per_ward=(10, 12), days_history=7)
    db.flush()
    return {u.username: u for u in db.exec(select(User).where(col(User.username).in_([n for n, _, _ in DEMO_USERS])))}


def _landing(browser):
    r = browser.get("/")
    while r.status_code == 303:
        r = browser.get(r.headers["location"])
    assert r.status_code == 200
    return r.text


def test_each_demo_role_signs_in_to_work(db, demo_users, browser_as):
    """Every demo sign-in but the administrator's (whose work is accounts, not patients); one build."""
    for username, _, _ in DEMO_USERS:
        if username == "admin":
            continue
        user = demo_users[username]
        unread = db.exec(select(Alert).where(Alert.recipient_id == user.id, col(Alert.read_at).is_(None))).all()
        assert unread, f"{username} has no unread alerts"
        browser = browser_as(user)
        page = _landing(browser)
        assert 'id="needs-you"' in page, username
        match = re.search(r"(\d+) unread alert", page)
        assert match and int(match.group(1)) == len(unread), username
        if username in ESCALATION_ROLES:
            found = re.search(r'id="needs-escalations">\s*<a [^>]*>(\d+) open escalation', page)
            assert found and int(found.group(1)) > 0, (username, page[page.find("needs-you") :][:600])
            assert "past" in page and "response target" in page, username
        assert "No open escalations on your wards" not in browser.get("/escalations").text, username

    # Open escalations at every rung; referrals waiting for days, and sent today.
    open_levels = set(db.exec(select(Escalation.level).where(Escalation.status != "resolved")))
    assert open_levels == {1, 2, 3}
    waiting = db.exec(select(Referral).where(col(Referral.decided_at).is_(None))).all()
    assert any(NOW - r.sent_at >= timedelta(days=2) for r in waiting)
    assert any(NOW - r.sent_at < timedelta(days=1) for r in waiting)
