"""No silent overwrite: every write that changes an existing row needs the version the client saw.

WRITES is the table: each write route (JSON API and HTML form, from the app's route table) either
names the hidden field or body key carrying the version and the row it guards, or says why it
takes no version (it creates rows, or it does not replace anything a client was shown). For every
versioned route, with the request tests/security/test_ids_in_requests.py builds (PROBES):

- stale: another write bumps the row's version first; the old version is refused, 409 (JSON) or
  the page again with 409 saying someone else changed it (HTML);
- none: without a version (no body field, no If-Match) the API answers 428; a form without one,
  or with a mangled one, comes back 422 with OUT_OF_DATE;

and nothing is written either time (row counts, audit events, the versions of every record). The
same request with the current version then goes through, so the refusals were the version check.

ALSO lists a second version a route needs (today's review, for the round step's JSON endpoint).
A write route missing from the table fails test_every_write_route_is_listed: add it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, SQLModel, col, select

from app.auth.permissions import allows
from app.models import (
    Action,
    Alert,
    AlertPreferences,
    Bed,
    BoardRound,
    DailyReview,
    DischargeMilestone,
    Escalation,
    FailedDischarge,
    Patient,
    Referral,
    Site,
    Stay,
    User,
    UserWard,
    Ward,
)
from app.reviews.schemas import ReviewRequest
from app.reviews.service import record_review
from app.rounds.forms import RELOAD
from app.web.form_writes import OUT_OF_DATE
from tests import factories
from tests.security.test_ids_in_requests import PROBES, Probe, Sender, _perm, _side, state, write_routes

Ids = dict[str, Any]


@dataclass(frozen=True)
class Versioned:
    """The version travels in `field` (JSON: also If-Match where `if_match`) and guards `model`
    row `ids[key]`. `says`: what an HTML form without its version shows. `prepare`: makes the
    row the write replaces when the world has none."""

    field: str
    model: type[SQLModel]
    key: str
    says: str = OUT_OF_DATE
    prepare: Callable[[Session, Ids, User, Any], Ids] | None = None
    if_match: bool = True


CREATES = "creates rows: nothing there yet to have a version"
NOT_A_WRITE = "changes no record (a search, a filter, signing in or out)"


def _nurse_of(db: Session, ids: Ids) -> User:
    """The nurse the world made: the first role in ROLES, so the one who sends the alert routes."""
    return db.exec(
        select(User)
        .join(UserWard, col(UserWard.user_id) == User.id)
        .where(User.role_code == "nurse", UserWard.ward_id == ids["ward_id"])
        .order_by(col(User.id).desc())
    ).first()


def _own_alert(db: Session, ids: Ids, user: User, now) -> Ids:  # noqa: ANN001
    nurse = _nurse_of(db, ids)
    alert = Alert(
        rule_code="action_overdue", subject=f"test:{nurse.id}", recipient_id=nurse.id, ward_id=ids["ward_id"],
        title="W bed B01 (AL): Action overdue", link_route="list_alerts", created_at=now, updated_at=now,
    )  # fmt: skip
    db.add(alert)
    db.flush()
    return ids | {"alert_id": alert.id}


def _own_settings(db: Session, ids: Ids, user: User, now) -> Ids:  # noqa: ANN001
    nurse = _nurse_of(db, ids)
    db.add(AlertPreferences(user_id=nurse.id, email="nurse@nhs.net", created_at=now, updated_at=now))
    db.flush()
    return ids | {"prefs_user_id": nurse.id}


def _todays_review(db: Session, ids: Ids, user: User, now) -> Ids:  # noqa: ANN001
    stay = db.get(Stay, ids["stay_id"])
    data = ReviewRequest(meets_criteria_to_reside=True, plan="An earlier plan")
    review, _, _ = record_review(db, actor=factories.principal(db, user), stay=stay, data=data, now=now)
    db.flush()
    return ids | {"review_id": review.id, "stay_version": stay.version}


WRITES: dict[tuple[str, str], Versioned | str] = {
    # JSON API --------------------------------------------------------------------------------
    ("POST", "/api/v1/sites"): CREATES,
    ("PATCH", "/api/v1/sites/{site_id}"): Versioned("version", Site, "site_id"),
    ("POST", "/api/v1/wards"): CREATES,
    ("PATCH", "/api/v1/wards/{ward_id}"): Versioned("version", Ward, "ward_id"),
    ("POST", "/api/v1/wards/{ward_id}/beds"): CREATES,
    ("PATCH", "/api/v1/beds/{bed_id}"): Versioned("version", Bed, "bed_id"),
    ("PUT", "/api/v1/beds/{bed_id}/state"): Versioned("version", Bed, "bed_id"),
    ("POST", "/api/v1/wards/{ward_id}/ward-list/preview"): NOT_A_WRITE,
    ("POST", "/api/v1/wards/{ward_id}/ward-list/apply"): "applies what its preview showed, by the preview's "
    "plan token: 409 with the new preview if the ward changed since (tests/stays/test_ward_list.py)",
    ("POST", "/api/v1/patients"): CREATES,
    ("POST", "/api/v1/patients/search"): NOT_A_WRITE,
    ("PATCH", "/api/v1/patients/{patient_id}"): Versioned("version", Patient, "former_patient_id"),
    ("POST", "/api/v1/stays"): CREATES,
    ("PATCH", "/api/v1/stays/{stay_id}"): Versioned("version", Stay, "stay_id"),
    ("PUT", "/api/v1/stays/{stay_id}/edd"): Versioned("version", Stay, "stay_id"),
    ("POST", "/api/v1/stays/{stay_id}/transfer"): Versioned("version", Stay, "stay_id"),
    ("POST", "/api/v1/stays/{stay_id}/discharge"): Versioned("version", Stay, "stay_id"),
    ("POST", "/api/v1/stays/{stay_id}/correction"): Versioned("version", Stay, "former_stay_id"),
    # Replaces today's review when there is one (the first of the day creates it); body only.
    ("POST", "/api/v1/stays/{stay_id}/reviews"): Versioned(
        "version", DailyReview, "review_id", prepare=_todays_review, if_match=False
    ),
    ("POST", "/api/v1/stays/{stay_id}/actions"): CREATES,
    ("PATCH", "/api/v1/stays/{stay_id}/actions/{action_id}"): Versioned("version", Action, "action_id"),
    ("POST", "/api/v1/stays/{stay_id}/referrals"): CREATES,
    ("PATCH", "/api/v1/stays/{stay_id}/referrals/{referral_id}"): Versioned("version", Referral, "referral_id"),
    ("PATCH", "/api/v1/stays/{stay_id}/milestones/{milestone_id}"): Versioned(
        "version", DischargeMilestone, "milestone_id"
    ),
    ("POST", "/api/v1/stays/{stay_id}/failed-discharges"): CREATES,
    ("PATCH", "/api/v1/stays/{stay_id}/failed-discharges/{fd_id}"): Versioned("version", FailedDischarge, "fd_id"),
    ("POST", "/api/v1/stays/{stay_id}/escalations"): CREATES,
    ("POST", "/api/v1/escalations/{esc_id}/steps"): Versioned("version", Escalation, "esc_id"),
    ("POST", "/api/v1/wards/{ward_id}/rounds"): CREATES,
    ("POST", "/api/v1/rounds/{round_id}/end"): Versioned("version", BoardRound, "round_id"),
    ("POST", "/api/v1/rounds/{round_id}/stays/{stay_id}"): Versioned("stay_version", Stay, "stay_id"),
    ("POST", "/api/v1/hl7/adt"): "the PAS feed: the hospital's PAS is the record's source, each message "
    "applied once by its control ID (docs/adt.md)",
    # HTML forms ------------------------------------------------------------------------------
    ("POST", "/sign-in"): NOT_A_WRITE,
    ("POST", "/sign-out"): NOT_A_WRITE,
    ("POST", "/audit"): NOT_A_WRITE,
    ("POST", "/wards/{code}/rounds/new"): CREATES,
    # The round step (app/views/round_step.py) words a missing version for the patient's record.
    ("POST", "/rounds/{round_id}/stays/{stay_id}"): Versioned("stay_version", Stay, "stay_id", says=RELOAD),
    ("POST", "/rounds/{round_id}/stays/{stay_id}/no-change"): Versioned("stay_version", Stay, "stay_id", says=RELOAD),
    ("POST", "/rounds/{round_id}/stays/{stay_id}/skip"): "records that the round passed this patient "
    "(a round entry): changes nothing the page showed",
    ("POST", "/stays/{stay_id}"): Versioned("stay_version", Stay, "stay_id", says=RELOAD),
    ("POST", "/rounds/{round_id}/stays/{stay_id}/actions/{action_id}"): Versioned("version", Action, "action_id"),
    ("POST", "/rounds/{round_id}/end"): Versioned("version", BoardRound, "round_id"),
    ("POST", "/escalations/{esc_id}"): Versioned("version", Escalation, "esc_id"),
    ("POST", "/stays/{stay_id}/escalations/new"): CREATES,
    ("POST", "/stays/{stay_id}/referrals"): CREATES,
    ("POST", "/stays/{stay_id}/referrals/{referral_id}"): Versioned("version", Referral, "referral_id"),
    ("POST", "/stays/{stay_id}/actions/{action_id}/done"): Versioned("version", Action, "action_id"),
    ("POST", "/stays/{stay_id}/milestones/{milestone_id}"): Versioned("version", DischargeMilestone, "milestone_id"),
    ("POST", "/stays/{stay_id}/failed-discharges/new"): CREATES,
    ("POST", "/failed-discharges/new"): CREATES,
    ("POST", "/stays/{stay_id}/edd"): Versioned("stay_version", Stay, "stay_id"),
    ("POST", "/failed-discharges/{fd_id}/follow-up-done"): Versioned("version", FailedDischarge, "fd_id"),
    ("POST", "/alerts/{alert_id}/read"): Versioned("version", Alert, "alert_id", prepare=_own_alert),
    ("POST", "/alerts/settings"): Versioned("version", AlertPreferences, "prefs_user_id", prepare=_own_settings),
    ("POST", "/alerts/read"): "marks read the alerts the page listed (ids up to the newest shown), whatever "
    "else changed: none is replaced",
    ("POST", "/beds/{bed_id}/admit"): CREATES,
    ("POST", "/stays/{stay_id}/move"): Versioned("version", Stay, "stay_id"),
    ("POST", "/stays/{stay_id}/discharge"): Versioned("version", Stay, "stay_id"),
    ("POST", "/stays/{stay_id}/correct"): Versioned("version", Stay, "former_stay_id"),
    ("POST", "/beds/{bed_id}/state"): Versioned("version", Bed, "bed_id"),
    ("POST", "/wards/{code}/ward-list"): NOT_A_WRITE,
    ("POST", "/wards/{code}/ward-list/apply"): "applies what its preview showed, by the preview's plan: "
    "the page again with the new preview (409) if the ward changed since (tests/stays/test_day_one_pages.py)",
    ("POST", "/admin/sites"): CREATES,
    ("POST", "/admin/wards"): CREATES,
    ("POST", "/admin/wards/{ward_id}"): Versioned("version", Ward, "ward_id"),
    ("POST", "/admin/wards/{ward_id}/beds"): CREATES,
    ("POST", "/admin/beds/{bed_id}"): Versioned("version", Bed, "bed_id"),
    ("POST", "/admin/users/new"): CREATES,
    ("POST", "/admin/users/{user_id}"): Versioned("version", User, "sponsor_id"),
    ("POST", "/admin/users/{user_id}/password"): "sets a new secret rather than editing what the page showed",
    ("POST", "/admin/users/{user_id}/unlock"): "clears a lock: the same outcome whatever the page showed",
    ("POST", "/admin/users/{user_id}/tokens"): CREATES,
    ("POST", "/admin/users/{user_id}/tokens/{token_id}/revoke"): "ends a token for good: the same outcome "
    "whatever the page showed",
    ("POST", "/admin/users/{user_id}/sessions/end"): "signs out everywhere: the same outcome whatever the page showed",
    ("POST", "/admin/sessions/{session_id}/end"): "ends a session for good: the same outcome whatever the page showed",
    ("POST", "/admin/sign-in-policy"): "sets password sign-in to the value chosen: the same outcome whatever the "
    "page showed",
    ("POST", "/auth/oidc/back-channel-logout"): "the identity provider's logout call: ends sessions, edits nothing",
}

# A second version some routes need: today's review, when the round step replaces it. (The HTML
# forms' blank review_version means "none today": tests/rounds/test_versions.py.)
ALSO: dict[tuple[str, str], Versioned] = {
    ("POST", "/api/v1/rounds/{round_id}/stays/{stay_id}"): Versioned(
        "review_version", DailyReview, "review_id", prepare=_todays_review, if_match=False
    ),
}

# Requests PROBES does not make (routes only site-wide roles may use there).
EXTRA: dict[tuple[str, str], Callable[[Ids], tuple[str, dict]]] = {
    ("POST", "/alerts/{alert_id}/read"): lambda i: (f"/alerts/{i['alert_id']}/read", {}),
    ("POST", "/alerts/settings"): lambda i: (
        "/alerts/settings",
        {"email": "n@nhs.net", "choice_action_overdue": "off"},
    ),
    ("PATCH", "/api/v1/sites/{site_id}"): lambda i: (
        f"/api/v1/sites/{i['site_id']}",
        {"name": "Renamed Site", "version": 1},
    ),
    ("POST", "/admin/users/{user_id}"): lambda i: (
        f"/admin/users/{i['sponsor_id']}",
        {
            "display_name": "Renamed Sponsor",
            "role_code": "executive_sponsor",
            "ward_ids": str(i["ward_id"]),
            "is_active": "yes",
            "version": 1,
        },
    ),  # fmt: skip
}
ROLES = ("nurse", "ward_manager", "admin")  # the first that may use a route sends it


def test_every_write_route_is_listed():
    routes = write_routes()
    missing = sorted(routes - set(WRITES))
    assert not missing, f"add this route to the table (WRITES in {__name__}): {missing}"
    assert not sorted(set(WRITES) - routes), "WRITES lists routes the app no longer has"


GUARDS = sorted(
    [(k, v) for k, v in WRITES.items() if isinstance(v, Versioned)] + list(ALSO.items()),
    key=lambda pair: (pair[0], pair[1].field),
)
GUARD_IDS = [f"{m} {p} {spec.field}" for (m, p), spec in GUARDS]
API_GUARDS = [(k, spec) for k, spec in GUARDS if k[1].startswith("/api/") and spec.if_match]


@pytest.fixture
def world(db, now) -> tuple[Ids, dict[str, User]]:
    ids, _ = _side(db, "HOME", now)
    wards = [db.get(Ward, ids["ward_id"]), db.get(Ward, ids["quiet_ward_id"])]
    users = {role: factories.make_user(db, role, wards=wards if role != "admin" else []) for role in ROLES}
    return ids | {"site_id": wards[0].site_id}, users


def _request(key: tuple[str, str], ids: Ids) -> tuple[str, dict]:
    if key in EXTRA:
        return EXTRA[key](ids)
    probe = PROBES[key]
    assert isinstance(probe, Probe)
    url, body = probe.request(ids)
    assert isinstance(body, dict)
    return url, dict(body)


def _sender(api_as, browser_as, users: dict[str, User], key: tuple[str, str]) -> Sender:  # noqa: ANN001
    perm = _perm(key)
    role = next(r for r in ROLES if perm is None or allows(r, perm))
    return Sender(api_as, browser_as, users[role], key[1])


def _bump(db: Session, model: type[SQLModel], row_id: int) -> int:
    """Another user's write: the row's version moves on. Returns the version the client had."""
    row = db.get(model, row_id)
    seen = row.version  # type: ignore[attr-defined]
    row.updated_at = row.updated_at + timedelta(seconds=1)  # type: ignore[attr-defined]
    db.flush()
    assert row.version == seen + 1  # type: ignore[attr-defined]
    return seen


def _snapshot(db: Session, ids: Ids, spec: Versioned) -> dict:
    """Row counts (the audit trail's too) and every record's version, the guarded row's included."""
    return state(db, ids) | {"guarded": db.get(spec.model, ids[spec.key]).version}  # type: ignore[attr-defined]


def _goes_through(sender: Sender, db: Session, ids: Ids, key: tuple[str, str], spec: Versioned) -> None:
    method, path = key
    url, body = _request(key, ids)
    before = _snapshot(db, ids, spec)
    done = sender.send(method, url, body | {spec.field: db.get(spec.model, ids[spec.key]).version})  # type: ignore[attr-defined]
    assert done.status_code in (200, 201, 303), f"{method} {path} with the current version: {done.text[:300]}"
    assert _snapshot(db, ids, spec) != before, f"{method} {path} wrote nothing: the refusals prove nothing"


@pytest.mark.parametrize(("key", "spec"), GUARDS, ids=GUARD_IDS)
def test_a_stale_version_is_refused_and_changes_nothing(db, api_as, browser_as, world, now, key, spec):
    ids, users = world
    ids = spec.prepare(db, ids, users["ward_manager"], now) if spec.prepare else ids
    sender = _sender(api_as, browser_as, users, key)
    method, path = key
    url, body = _request(key, ids)
    seen = _bump(db, spec.model, ids[spec.key])
    before = _snapshot(db, ids, spec)
    r = sender.send(method, url, body | {spec.field: seen})
    assert r.status_code == 409, f"{method} {path} with a stale version: {r.status_code} {r.text[:300]}"
    if sender.api is None:
        assert r.headers["content-type"].startswith("text/html"), (method, path)
        assert re.search(r"Someone else|changed (this|it)", r.text), (method, path, r.text[:2000])
    assert _snapshot(db, ids, spec) == before, f"{method} {path} with a stale version wrote something"
    _goes_through(sender, db, ids, key, spec)


def body_without(body: dict, spec: Versioned) -> dict:
    return {k: v for k, v in body.items() if k != spec.field}


@pytest.mark.parametrize(("key", "spec"), API_GUARDS, ids=[f"{m} {p}" for (m, p), _ in API_GUARDS])
def test_a_stale_if_match_is_refused_and_changes_nothing(db, api_as, browser_as, world, now, key, spec):
    ids, users = world
    ids = spec.prepare(db, ids, users["ward_manager"], now) if spec.prepare else ids
    sender = _sender(api_as, browser_as, users, key)
    assert sender.api is not None
    method, path = key
    url, body = _request(key, ids)
    seen = _bump(db, spec.model, ids[spec.key])
    before = _snapshot(db, ids, spec)
    for header in (f'"{seen}"', f'W/"{seen}"', str(seen)):
        r = sender.api.request(
            method, url.removeprefix("/api/v1"), json=body_without(body, spec), headers={"If-Match": header}
        )
        assert r.status_code == 409, (method, path, header, r.status_code, r.text[:300])
        assert _snapshot(db, ids, spec) == before, (method, path, header, "wrote something")


@pytest.mark.parametrize(("key", "spec"), GUARDS, ids=GUARD_IDS)
def test_no_version_is_refused_and_changes_nothing(db, api_as, browser_as, world, now, key, spec):
    ids, users = world
    ids = spec.prepare(db, ids, users["ward_manager"], now) if spec.prepare else ids
    sender = _sender(api_as, browser_as, users, key)
    method, path = key
    url, body = _request(key, ids)
    before = _snapshot(db, ids, spec)
    if sender.api is not None:
        r = sender.send(method, url, body_without(body, spec))
        assert r.status_code == 428, f"{method} {path} without a version: {r.status_code} {r.text[:300]}"
        assert r.json()["error"]["code"] == "version_required"
        assert _snapshot(db, ids, spec) == before, f"{method} {path} without a version wrote something"
    else:
        for version in (None, "", "abc", "0", "-1", "1.0", "9" * 30):
            sent = body_without(body, spec) if version is None else body | {spec.field: version}
            r = sender.send(method, url, sent)
            where = (method, path, version)
            assert r.status_code == 422, (*where, r.status_code, r.text[:300])
            assert r.headers["content-type"].startswith("text/html"), where
            assert spec.says in html.unescape(r.text), (*where, r.text[:2000])
            assert _snapshot(db, ids, spec) == before, (*where, "wrote something")
    _goes_through(sender, db, ids, key, spec)
