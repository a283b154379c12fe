"""Every route x every role (and anonymous): allowed or refused exactly as the matrix says.

ROUTES is the table: each API route and the permission it needs (None: any signed-in user).
A route missing from the table fails the coverage test, so new routes must be classified.
"""

from __future__ import annotations

import importlib

import pytest
from fastapi.routing import iter_route_contexts

from app.auth.permissions import MATRIX, Perm, allows
from app.core.types import MAX_ID
from app.main import create_app
from tests import factories
from tests.dbs import settings_for

P = Perm
PUBLIC = "public"  # no sign-in needed (holds no patient data)
ROUTES: dict[tuple[str, str], Perm | str | None] = {
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/api/v1/sites"): P.READ_WARD,
    ("POST", "/api/v1/sites"): P.SETUP_HOSPITAL,
    ("PATCH", "/api/v1/sites/{site_id}"): P.SETUP_HOSPITAL,
    ("GET", "/api/v1/wards"): P.READ_WARD,
    ("POST", "/api/v1/wards"): P.MANAGE_WARD,
    ("GET", "/api/v1/wards/{ward_id}"): P.READ_WARD,
    ("PATCH", "/api/v1/wards/{ward_id}"): P.MANAGE_WARD,
    ("GET", "/api/v1/wards/{ward_id}/board"): P.READ_WARD,
    ("GET", "/api/v1/wards/{ward_id}/beds"): P.READ_WARD,
    ("POST", "/api/v1/wards/{ward_id}/beds"): P.MANAGE_WARD,
    ("PATCH", "/api/v1/beds/{bed_id}"): P.MANAGE_WARD,
    ("PUT", "/api/v1/beds/{bed_id}/state"): P.MANAGE_BED_STATE,
    ("GET", "/api/v1/beds/{bed_id}/states"): P.READ_WARD,
    ("GET", "/api/v1/wards/{ward_id}/bed-times"): P.READ_WARD,
    ("GET", "/api/v1/bed-availability"): P.READ_WARD,
    ("POST", "/api/v1/wards/{ward_id}/ward-list/preview"): P.IMPORT_WARD_LIST,
    ("POST", "/api/v1/wards/{ward_id}/ward-list/apply"): P.IMPORT_WARD_LIST,
    ("POST", "/api/v1/patients"): P.WRITE_PATIENT,
    ("GET", "/api/v1/patients"): P.READ_WARD,
    ("POST", "/api/v1/patients/search"): P.READ_WARD,
    ("GET", "/api/v1/patients/{patient_id}"): P.READ_WARD,
    ("PATCH", "/api/v1/patients/{patient_id}"): P.WRITE_PATIENT,
    ("POST", "/api/v1/stays"): P.MANAGE_STAY,
    ("GET", "/api/v1/stays/{stay_id}"): P.READ_WARD,
    ("PATCH", "/api/v1/stays/{stay_id}"): P.WRITE_CLINICAL,
    ("PUT", "/api/v1/stays/{stay_id}/edd"): P.WRITE_CLINICAL,
    ("POST", "/api/v1/stays/{stay_id}/transfer"): P.MANAGE_STAY,
    ("POST", "/api/v1/stays/{stay_id}/discharge"): P.MANAGE_STAY,
    ("POST", "/api/v1/stays/{stay_id}/correction"): P.CORRECT_STAY,
    ("POST", "/api/v1/stays/{stay_id}/reviews"): P.WRITE_CLINICAL,
    ("GET", "/api/v1/stays/{stay_id}/reviews"): P.READ_WARD,
    ("GET", "/api/v1/stays/{stay_id}/actions"): P.READ_WARD,
    ("POST", "/api/v1/stays/{stay_id}/actions"): P.WRITE_CLINICAL,
    ("PATCH", "/api/v1/stays/{stay_id}/actions/{action_id}"): P.WRITE_CLINICAL,
    ("GET", "/api/v1/stays/{stay_id}/milestones"): P.READ_WARD,
    ("GET", "/api/v1/stays/{stay_id}/referrals"): P.READ_WARD,
    ("GET", "/api/v1/hub"): P.READ_HUB,
    ("POST", "/api/v1/stays/{stay_id}/referrals"): P.WRITE_CLINICAL,
    ("PATCH", "/api/v1/stays/{stay_id}/referrals/{referral_id}"): P.WRITE_CLINICAL,
    ("PATCH", "/api/v1/stays/{stay_id}/milestones/{milestone_id}"): P.WRITE_CLINICAL,
    ("POST", "/api/v1/stays/{stay_id}/failed-discharges"): P.LOG_FAILED_DISCHARGE,
    ("GET", "/api/v1/stays/{stay_id}/failed-discharges"): P.READ_WARD,
    ("PATCH", "/api/v1/stays/{stay_id}/failed-discharges/{fd_id}"): P.LOG_FAILED_DISCHARGE,
    ("GET", "/api/v1/failed-discharges"): P.READ_WARD,
    ("POST", "/api/v1/stays/{stay_id}/escalations"): P.RAISE_ESCALATION,
    ("GET", "/api/v1/escalations"): P.READ_WARD,
    ("GET", "/api/v1/escalations/{esc_id}"): P.READ_WARD,
    ("POST", "/api/v1/escalations/{esc_id}/steps"): P.ACT_ESCALATION,
    ("POST", "/api/v1/wards/{ward_id}/rounds"): P.RUN_ROUND,
    ("GET", "/api/v1/rounds/{round_id}"): P.READ_WARD,
    ("POST", "/api/v1/rounds/{round_id}/end"): P.RUN_ROUND,
    ("POST", "/api/v1/rounds/{round_id}/stays/{stay_id}"): P.WRITE_CLINICAL,
    ("GET", "/api/v1/reference/{name}"): None,
}

# Feature areas keep their own tables beside this file (routes_<area>.py with API and PAGES).
for _area in ("routes_adt", "routes_metrics", "routes_alerts", "routes_day_one"):
    try:
        _module = importlib.import_module(f"tests.security.{_area}")
    except ModuleNotFoundError:
        continue
    ROUTES.update(getattr(_module, "API", {}))

ROLES = sorted(MATRIX)


def api_routes() -> set[tuple[str, str]]:
    app = create_app(settings_for("sqlite://"))
    found = set()
    for route in iter_route_contexts(app.routes):
        if route.path.startswith("/api/") and route.methods:
            found |= {(m, route.path) for m in route.methods if m != "HEAD"}
    return found


def test_every_api_route_is_classified():
    assert api_routes() == set(ROUTES)


@pytest.fixture
def world(db, now):
    """One ward with one of everything, and a user of every role on it."""
    return factories.one_of_everything(db, now)


@pytest.mark.parametrize("role", [*ROLES, "anonymous"])
def test_matrix_is_enforced_on_every_api_route(db, api_as, world, role):
    ids, users = world
    client = api_as(users.get(role))
    for (method, path), perm in sorted(ROUTES.items()):
        url = path.removeprefix("/api/v1").format(**ids)
        r = client.request(
            method,
            url,
            json={} if method != "GET" else None,
        )
        if perm == PUBLIC:
            assert r.status_code == 200, (method, path, r.status_code)
        elif role == "anonymous":
            assert r.status_code == 401, (method, path, r.status_code)
        elif perm is not None and not allows(role, perm):
            assert r.status_code == 403, (role, method, path, r.status_code, r.text[:200])
        else:
            assert r.status_code not in (401, 403), (role, method, path, r.status_code, r.text[:200])
            assert r.status_code < 500, (role, method, path, r.text[:300])


# Site-wide roles are not ward-scoped; transfer_hub reads no stay at all (tests/referrals/test_hub.py).
@pytest.mark.parametrize(
    "role", [r for r in ROLES if r not in ("admin", "flow_coordinator", "integration", "transfer_hub")]
)
def test_other_wards_records_are_not_found(db, api_as, world, role):
    """Changing an id in the URL to another ward's patient is refused (no IDOR)."""
    ids, _ = world
    other_ward = factories.make_ward(db, beds=1)
    outsider = factories.make_user(db, role, wards=[other_ward])
    client = api_as(outsider)
    for (method, path), perm in sorted(ROUTES.items()):
        if "{" not in path or path.endswith("{name}") or path.endswith("{bed_id}"):
            continue
        if perm == PUBLIC or (perm is not None and not allows(role, perm)):
            continue
        url = path.removeprefix("/api/v1").format(**ids)
        r = client.request(method, url, json={} if method != "GET" else None)
        assert r.status_code in (404, 422), (role, method, path, r.status_code)
        if method == "GET":
            # Word for word the answer for ids that do not exist. (Writes, with real bodies:
            # tests/security/test_ids_in_requests.py.)
            missing = client.get(path.removeprefix("/api/v1").format(**dict.fromkeys(ids, 2**31 - 1)))
            assert (r.status_code, r.json()) == (missing.status_code, missing.json()), (role, path, r.text)
    assert client.get(f"/stays/{ids['stay_id']}").status_code == 404
    assert client.get(f"/patients/{ids['patient_id']}").status_code == 404
    assert client.get(f"/wards/{ids['ward_id']}/board").status_code == 404
    assert client.get("/escalations").json() == []
    assert client.get("/failed-discharges").json() == []


def test_site_wide_roles_see_every_ward(db, api_as, world):
    ids, users = world
    flow = factories.make_user(db, "flow_coordinator")
    assert api_as(flow).get(f"/wards/{ids['ward_id']}/board").status_code == 200


def test_sponsor_cannot_change_clinical_records(db, api_as, world):
    ids, users = world
    sponsor = api_as(users["executive_sponsor"])
    assert sponsor.get(f"/stays/{ids['stay_id']}").status_code == 200
    r = sponsor.post(f"/stays/{ids['stay_id']}/reviews", json={"meets_criteria_to_reside": True})
    assert r.status_code == 403
    r = sponsor.put(f"/stays/{ids['stay_id']}/edd", json={"expected_discharge_date": "2026-03-20", "version": 1})
    assert r.status_code == 403


def test_permissions_doc_matches_the_matrix():
    from app.auth.permissions_doc import render_markdown
    from app.config import PROJECT_ROOT

    assert (PROJECT_ROOT / "docs" / "permissions.md").read_text() == render_markdown(), (
        "docs/permissions.md is stale: python -m app.auth.permissions_doc > docs/permissions.md"
    )


# HTML pages: the same matrix, for signed-in browsers (cookie session + CSRF token).
PAGES: dict[tuple[str, str], Perm | str | None] = {
    ("GET", "/sign-in"): PUBLIC,
    ("POST", "/sign-in"): PUBLIC,
    ("POST", "/sign-out"): None,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/sw.js"): PUBLIC,
    ("GET", "/"): P.READ_WARD,
    ("GET", "/wards/{code}"): P.READ_WARD,
    ("GET", "/wards/{code}/rows"): P.READ_WARD,
    ("GET", "/wards/{code}/display"): P.READ_WARD,
    ("GET", "/wards/{code}/events"): P.READ_WARD,
    ("GET", "/audit"): P.READ_AUDIT,
    ("POST", "/audit"): P.READ_AUDIT,
    ("GET", "/wards/{code}/rounds/new"): P.RUN_ROUND,
    ("POST", "/wards/{code}/rounds/new"): P.RUN_ROUND,
    ("GET", "/rounds/{round_id}"): P.READ_WARD,
    ("GET", "/rounds/{round_id}/stays/{stay_id}"): P.READ_WARD,
    ("POST", "/rounds/{round_id}/stays/{stay_id}"): P.WRITE_CLINICAL,
    ("POST", "/rounds/{round_id}/stays/{stay_id}/no-change"): P.WRITE_CLINICAL,
    ("POST", "/rounds/{round_id}/stays/{stay_id}/skip"): P.RUN_ROUND,
    ("POST", "/rounds/{round_id}/stays/{stay_id}/actions/{action_id}"): P.WRITE_CLINICAL,
    ("GET", "/rounds/{round_id}/continue"): P.READ_WARD,
    ("POST", "/rounds/{round_id}/end"): P.RUN_ROUND,
    ("GET", "/rounds/{round_id}/handover"): P.READ_WARD,
    ("GET", "/stays/{stay_id}"): P.READ_WARD,
    ("POST", "/stays/{stay_id}"): P.WRITE_CLINICAL,
    ("POST", "/stays/{stay_id}/referrals"): P.WRITE_CLINICAL,
    ("POST", "/stays/{stay_id}/referrals/{referral_id}"): P.WRITE_CLINICAL,
    ("POST", "/stays/{stay_id}/actions/{action_id}/done"): P.WRITE_CLINICAL,
    ("GET", "/stays/{stay_id}/milestones"): P.READ_WARD,
    ("GET", "/hub"): P.READ_HUB,
    ("GET", "/hub/items"): P.READ_HUB,
    ("GET", "/hub/events"): P.READ_HUB,
    ("POST", "/stays/{stay_id}/milestones/{milestone_id}"): P.WRITE_CLINICAL,
    ("GET", "/stays/{stay_id}/plan"): P.READ_WARD,
    ("GET", "/stays/{stay_id}/red-green"): P.READ_WARD,
    ("GET", "/stays/{stay_id}/failed-discharges/new"): P.LOG_FAILED_DISCHARGE,
    ("POST", "/stays/{stay_id}/failed-discharges/new"): P.LOG_FAILED_DISCHARGE,
    ("GET", "/stays/{stay_id}/edd"): P.WRITE_CLINICAL,
    ("POST", "/stays/{stay_id}/edd"): P.WRITE_CLINICAL,
    ("GET", "/failed-discharges"): P.READ_WARD,
    ("GET", "/failed-discharges.csv"): P.READ_WARD,
    ("GET", "/failed-discharges/new"): P.LOG_FAILED_DISCHARGE,
    ("POST", "/failed-discharges/new"): P.LOG_FAILED_DISCHARGE,
    ("POST", "/failed-discharges/{fd_id}/follow-up-done"): P.LOG_FAILED_DISCHARGE,
    ("GET", "/failed-discharges/causes"): P.READ_WARD,
    ("GET", "/failed-discharges/causes.csv"): P.READ_WARD,
    ("GET", "/escalations"): P.READ_WARD,
    ("GET", "/escalations/items"): P.READ_WARD,
    ("GET", "/escalations/events"): P.READ_WARD,
    ("GET", "/escalations/{esc_id}"): P.READ_WARD,
    ("POST", "/escalations/{esc_id}"): P.ACT_ESCALATION,
    ("GET", "/stays/{stay_id}/escalations/new"): P.RAISE_ESCALATION,
    ("POST", "/stays/{stay_id}/escalations/new"): P.RAISE_ESCALATION,
    ("GET", "/admin/users"): P.MANAGE_USERS,
    ("GET", "/admin/users/new"): P.MANAGE_USERS,
    ("POST", "/admin/users/new"): P.MANAGE_USERS,
    ("GET", "/admin/users/{user_id}"): P.MANAGE_USERS,
    ("POST", "/admin/users/{user_id}"): P.MANAGE_USERS,
    ("POST", "/admin/users/{user_id}/password"): P.MANAGE_USERS,
    ("POST", "/admin/users/{user_id}/unlock"): P.MANAGE_USERS,
    ("POST", "/admin/users/{user_id}/tokens"): P.MANAGE_USERS,
    ("POST", "/admin/users/{user_id}/tokens/{token_id}/revoke"): P.MANAGE_USERS,
    ("POST", "/admin/users/{user_id}/sessions/end"): P.MANAGE_USERS,
    ("GET", "/admin/sessions"): P.MANAGE_USERS,
    ("POST", "/admin/sessions/{session_id}/end"): P.MANAGE_USERS,
    ("POST", "/admin/sign-in-policy"): P.MANAGE_USERS,
    # Single sign-on (docs/single-sign-on.md): the browser's way to and back from the provider,
    # and the provider's logout calls (authenticated by its signed token, not by a session).
    ("GET", "/auth/oidc/start"): PUBLIC,
    ("GET", "/auth/oidc/callback"): PUBLIC,
    ("POST", "/auth/oidc/back-channel-logout"): PUBLIC,
    ("GET", "/auth/oidc/front-channel-logout"): PUBLIC,
}


def ward_code(db, ward_id: int) -> str:
    from app.models import Ward

    return db.get(Ward, ward_id).code


for _area in ("routes_adt", "routes_metrics", "routes_alerts", "routes_day_one"):
    try:
        _module = importlib.import_module(f"tests.security.{_area}")
    except ModuleNotFoundError:
        continue
    PAGES.update(getattr(_module, "PAGES", {}))


def page_routes() -> set[tuple[str, str]]:
    app = create_app(settings_for("sqlite://"))
    found = set()
    for route in iter_route_contexts(app.routes):
        if not route.path.startswith(("/api/", "/static")) and route.methods:
            found |= {(m, route.path) for m in route.methods if m != "HEAD"}
    return found


def test_every_page_route_is_classified():
    assert page_routes() == set(PAGES)


@pytest.mark.parametrize("role", [r for r in ROLES if r != "integration"] + ["anonymous"])
def test_matrix_is_enforced_on_every_page(db, browser_as, live_server, world, role):
    from tests.pages import Browser

    ids, users = world
    ids = ids | {
        "user_id": users["nurse"].id,
        "token_id": 1,
        "code": ward_code(db, ids["ward_id"]),
        "referral_id": 1,
        "session_id": MAX_ID,
    }
    browser = browser_as(users[role]) if role != "anonymous" else Browser(live_server)
    for (method, path), perm in sorted(PAGES.items()):
        if path == "/sign-out":
            continue  # would end this browser's session; covered in tests/auth
        url = path.format(**ids)
        if url.endswith("/events"):
            with browser.client.stream("GET", url) as r:  # a stream: read the status only
                pass
        else:
            r = browser.get(url) if method == "GET" else browser.post(url, {})
        if perm == PUBLIC:
            # 400: a logout token the provider did not sign (single sign-on is off here).
            assert r.status_code in (200, 303, 400, 422), (role, method, path, r.status_code)
        elif role == "anonymous":
            assert r.status_code == 303 and r.headers["location"].startswith("/sign-in"), (method, path, r.status_code)
        elif perm is not None and not allows(role, perm):
            assert r.status_code == 403, (role, method, path, r.status_code)
        else:
            assert r.status_code not in (401, 403) and r.status_code < 500, (role, method, path, r.status_code)


def test_other_wards_pages_are_not_found(db, browser_as, world):
    """The same scope rule on the HTML side: another ward's ids answer 404."""
    ids, _ = world
    outsider = factories.make_user(db, "nurse", wards=[factories.make_ward(db, beds=1)])
    browser = browser_as(outsider)
    code = ward_code(db, ids["ward_id"])
    for url in (
        f"/wards/{code}",
        f"/wards/{code}/rows",
        f"/wards/{code}/display",
        f"/stays/{ids['stay_id']}",
        f"/stays/{ids['stay_id']}/plan",
        f"/rounds/{ids['round_id']}",
        f"/rounds/{ids['round_id']}/stays/{ids['stay_id']}",
        f"/rounds/{ids['round_id']}/handover",
        f"/wards/{code}/rounds/new",
        f"/escalations/{ids['esc_id']}",
        f"/stays/{ids['stay_id']}/edd",
        f"/stays/{ids['stay_id']}/escalations/new",
        f"/stays/{ids['stay_id']}/failed-discharges/new",
    ):
        assert browser.get(url).status_code == 404, url
    for url in (
        f"/stays/{ids['stay_id']}",
        f"/stays/{ids['stay_id']}/referrals",
        f"/rounds/{ids['round_id']}/end",
        f"/rounds/{ids['round_id']}/stays/{ids['stay_id']}/skip",
    ):
        assert browser.post(url, {}).status_code == 404, url
