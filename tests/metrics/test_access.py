"""Every metrics route for every role (and anonymous), as tests/security does for the rest of the app."""

from __future__ import annotations

import pytest

from app.auth.permissions import MATRIX, allows
from tests import factories
from tests.pages import Browser
from tests.security.routes_metrics import API, PAGES

ROLES = sorted(MATRIX)


@pytest.fixture
def ward(db):
    ward = factories.make_ward(db, beds=2)
    actor = factories.principal(db, factories.make_user(db, "ward_manager", wards=[ward]))
    factories.make_stay(db, actor, ward, factories.beds_of(db, ward)[0])
    return ward


@pytest.mark.parametrize("role", [r for r in ROLES if r != "integration"] + ["anonymous"])
def test_pages(db, browser_as, live_server, ward, role):
    browser = browser_as(factories.make_user(db, role, wards=[ward])) if role != "anonymous" else Browser(live_server)
    for (method, path), perm in sorted(PAGES.items()):
        if path.endswith("/events"):
            with browser.client.stream(method, path) as r:
                pass
        else:
            r = browser.client.request(method, path)
        if role == "anonymous":
            assert r.status_code == 303 and r.headers["location"].startswith("/sign-in"), (path, r.status_code)
        elif not allows(role, perm):
            assert r.status_code == 403, (role, path, r.status_code)
        else:
            assert r.status_code in (200, 422), (role, path, r.status_code)


@pytest.mark.parametrize("role", [*ROLES, "anonymous"])
def test_api(db, api_as, ward, role):
    client = api_as(factories.make_user(db, role, wards=[ward]) if role != "anonymous" else None)
    for (method, path), perm in sorted(API.items()):
        r = client.request(method, path.removeprefix("/api/v1"))
        if role == "anonymous":
            assert r.status_code == 401, (path, r.status_code)
        elif not allows(role, perm):
            assert r.status_code == 403, (role, path, r.status_code)
        else:
            assert r.status_code == 200, (role, path, r.status_code, r.text[:300])
