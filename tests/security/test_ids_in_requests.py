"""Every write route, with another ward's ids in the path and in the body: refused like missing ids.

PROBES is the table: each write route (JSON API and HTML form) with the request it makes and the
ids it takes. For every route a ward-scoped user (a nurse, or a ward manager where a nurse may
not) sends the request with each id in turn swapped for the same record on a ward outside their
scope. The answer must be 404 or 422, identical to the answer for an id that does not exist,
hold nothing of the other ward's, and change nothing. The same request with the user's own ids
must then succeed and write, so a refusal is the scope check and not a malformed request.

A write route missing from the table fails test_every_write_route_is_probed: add it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlmodel import Session, func, select

from app.audit import crud
from app.auth.permissions import Perm, allows
from app.core.types import MAX_ID
from app.discharges.schemas import FailedDischargeCreate
from app.discharges.service import log_failed_discharge
from app.escalations.schemas import EscalationCreate
from app.escalations.service import raise_escalation
from app.main import create_app
from app.milestones.service import milestones_for_stay
from app.models import (
    Action,
    AuditEvent,
    Bed,
    BedStatePeriod,
    BoardRound,
    BoardRoundEntry,
    DailyReview,
    DischargeMilestone,
    EddChange,
    Escalation,
    EscalationEvent,
    FailedDischarge,
    Patient,
    Referral,
    Stay,
    StayLocation,
    User,
    UserWard,
    Ward,
)
from app.stays.service import discharge
from tests import factories
from tests.dbs import settings_for
from tests.security.test_permissions import PAGES, ROUTES

Ids = dict[str, Any]


@dataclass(frozen=True)
class Probe:
    """`request(ids)` gives (url, body) from one side's ids; `swaps` lists the ids taken, a
    group at a time, from the other ward (a bed goes with its ward)."""

    request: Callable[[Ids], tuple[str, dict | list | None]]
    swaps: tuple[tuple[str, ...], ...]


SITE_WIDE_ONLY = "site-wide roles only"  # no ward-scoped role gets past the permission check
NO_IDS = "takes no record ids"
# A CSV body and a plan from a preview: tests/stays/test_ward_list.py sends another ward's id.
WARD_LIST = "the ward list: scope tested in tests/stays/test_ward_list.py"
# Alerts belong to a person, not a ward: another's alert answers 404 (tests/alerts/test_views.py).
OWN_ALERTS = "the signed-in person's own alerts and settings: scope by recipient, tests/alerts/test_views.py"


def _form_step(ids: Ids) -> dict:
    return {
        "stay_version": ids["stay_version"],
        "review_version": "",
        "meets": "yes",
        "day_status": "",
        "plan": "Home tomorrow",
    }


DAY_ONE_WARD_LIST = "the ward list upload: another ward's code is 404, tests/stays/test_day_one_pages.py"


def _admit_form(ids: Ids) -> dict:
    return {
        "nhs_number": factories.test_nhs_number(424242), "mrn": "PROBE01", "given_name": "Pat",
        "family_name": "Probe", "date_of_birth": "1950-01-01", "sex": "unknown", "admitted_date": "2026-03-10",
        "admitted_time": "09:00",
    }  # fmt: skip


def _correct_form(ids: Ids) -> dict:
    return {
        "admitted_date": "2026-03-01", "admitted_time": "11:00", "discharged_date": "2026-03-05",
        "discharged_time": "11:00", "destination_code": "19", "pathway": "1", "reason": "Pathway typed wrongly",
        "version": ids["former_stay_version"],
    }  # fmt: skip


def _fd_form(ids: Ids) -> dict:
    return {"planned_date": "2026-03-10", "planned_time": "09:00", "causes": "transport", "avoidable": "no"}


PROBES: dict[tuple[str, str], Probe | str] = {
    # JSON API --------------------------------------------------------------------------------
    ("POST", "/api/v1/wards"): SITE_WIDE_ONLY,
    ("POST", "/api/v1/sites"): SITE_WIDE_ONLY,
    ("POST", "/api/v1/wards/{ward_id}/ward-list/preview"): WARD_LIST,
    ("POST", "/api/v1/wards/{ward_id}/ward-list/apply"): WARD_LIST,
    ("PATCH", "/api/v1/sites/{site_id}"): SITE_WIDE_ONLY,
    ("PATCH", "/api/v1/wards/{ward_id}"): Probe(
        lambda i: (
            f"/api/v1/wards/{i['ward_id']}",
            {"executive_sponsor_id": i["sponsor_id"], "version": i["ward_version"]},
        ),
        (("ward_id",), ("sponsor_id",)),
    ),
    ("POST", "/api/v1/wards/{ward_id}/beds"): Probe(
        lambda i: (f"/api/v1/wards/{i['ward_id']}/beds", {"label": "NEW-1"}), (("ward_id",),)
    ),
    ("PATCH", "/api/v1/beds/{bed_id}"): Probe(
        lambda i: (f"/api/v1/beds/{i['bed_id']}", {"is_open": False, "version": i["bed_version"]}), (("bed_id",),)
    ),
    ("PUT", "/api/v1/beds/{bed_id}/state"): Probe(
        lambda i: (f"/api/v1/beds/{i['bed_id']}/state", {"state_code": "cleaning", "version": i["bed_version"]}),
        (("bed_id",),),
    ),
    # Identifiers, not ids: clashes with other wards' patients are tested in tests/stays/test_admission_scope.py.
    ("POST", "/api/v1/patients"): NO_IDS,
    # Searches by identifiers within the caller's scope: tests/patients/test_search.py.
    ("POST", "/api/v1/patients/search"): NO_IDS,
    ("PATCH", "/api/v1/patients/{patient_id}"): Probe(
        lambda i: (f"/api/v1/patients/{i['former_patient_id']}", {"given_name": "Changed", "version": 1}),
        (("former_patient_id",),),
    ),
    ("POST", "/api/v1/stays"): Probe(
        lambda i: (
            "/api/v1/stays",
            {
                "patient_id": i["former_patient_id"],
                "ward_id": i["ward_id"],
                "bed_id": i["bed_id"],
                "admitted_at": "2026-03-10T10:00:00+00:00",
            },
        ),
        (("former_patient_id",), ("ward_id", "bed_id"), ("bed_id",)),
    ),
    ("PATCH", "/api/v1/stays/{stay_id}"): Probe(
        lambda i: (f"/api/v1/stays/{i['stay_id']}", {"pathway": 2, "version": i["stay_version"]}), (("stay_id",),)
    ),
    ("PUT", "/api/v1/stays/{stay_id}/edd"): Probe(
        lambda i: (
            f"/api/v1/stays/{i['stay_id']}/edd",
            {"expected_discharge_date": "2026-03-14", "version": i["stay_version"]},
        ),
        (("stay_id",),),
    ),
    ("POST", "/api/v1/stays/{stay_id}/transfer"): Probe(
        lambda i: (
            f"/api/v1/stays/{i['stay_id']}/transfer",
            {"ward_id": i["quiet_ward_id"], "bed_id": i["quiet_bed_id"], "version": i["stay_version"]},
        ),
        (("stay_id",), ("quiet_ward_id", "quiet_bed_id"), ("quiet_bed_id",)),
    ),
    ("POST", "/api/v1/stays/{stay_id}/discharge"): Probe(
        lambda i: (
            f"/api/v1/stays/{i['stay_id']}/discharge",
            {"discharged_at": "2026-03-10T10:00:00+00:00", "destination_code": "19", "version": i["stay_version"]},
        ),
        (("stay_id",),),
    ),
    ("POST", "/api/v1/stays/{stay_id}/correction"): Probe(
        lambda i: (
            f"/api/v1/stays/{i['former_stay_id']}/correction",
            {"pathway": 1, "reason": "Pathway was recorded wrongly", "version": i["former_stay_version"]},
        ),
        (("former_stay_id",),),
    ),
    ("POST", "/api/v1/stays/{stay_id}/reviews"): Probe(
        lambda i: (
            f"/api/v1/stays/{i['stay_id']}/reviews",
            {"meets_criteria_to_reside": True},
        ),
        (("stay_id",),),
    ),
    ("POST", "/api/v1/stays/{stay_id}/actions"): Probe(
        lambda i: (
            f"/api/v1/stays/{i['stay_id']}/actions",
            {"description": "Book transport", "owner_role_code": "nurse", "board_round_id": i["round_id"]},
        ),
        (("stay_id",), ("round_id",)),
    ),
    ("PATCH", "/api/v1/stays/{stay_id}/actions/{action_id}"): Probe(
        lambda i: (f"/api/v1/stays/{i['stay_id']}/actions/{i['action_id']}", {"done": True, "version": 1}),
        (("stay_id", "action_id"), ("action_id",), ("stay_id",)),
    ),
    ("POST", "/api/v1/stays/{stay_id}/referrals"): Probe(
        lambda i: (
            f"/api/v1/stays/{i['stay_id']}/referrals",
            {"service_code": "therapy", "sent_at": "2026-03-10T09:00:00Z"},
        ),
        (("stay_id",),),
    ),
    ("PATCH", "/api/v1/stays/{stay_id}/referrals/{referral_id}"): Probe(
        lambda i: (
            f"/api/v1/stays/{i['stay_id']}/referrals/{i['referral_id']}",
            {"decided_at": "2026-03-10T10:30:00Z", "decision": "Accepted", "version": 1},
        ),
        (("stay_id", "referral_id"), ("referral_id",), ("stay_id",)),
    ),
    ("PATCH", "/api/v1/stays/{stay_id}/milestones/{milestone_id}"): Probe(
        lambda i: (f"/api/v1/stays/{i['stay_id']}/milestones/{i['milestone_id']}", {"status": "done", "version": 1}),
        (("stay_id", "milestone_id"), ("milestone_id",), ("stay_id",)),
    ),
    ("POST", "/api/v1/stays/{stay_id}/failed-discharges"): Probe(
        lambda i: (
            f"/api/v1/stays/{i['stay_id']}/failed-discharges",
            {
                "planned_for": "2026-03-10T09:00:00+00:00",
                "causes": ["transport"],
                "primary_cause": "transport",
                "avoidable": False,
            },
        ),
        (("stay_id",),),
    ),
    ("PATCH", "/api/v1/stays/{stay_id}/failed-discharges/{fd_id}"): Probe(
        lambda i: (
            f"/api/v1/stays/{i['stay_id']}/failed-discharges/{i['fd_id']}",
            {"follow_up_done": True, "version": 1},
        ),
        (("stay_id", "fd_id"), ("fd_id",), ("stay_id",)),
    ),
    ("POST", "/api/v1/stays/{stay_id}/escalations"): Probe(
        lambda i: (
            f"/api/v1/stays/{i['stay_id']}/escalations",
            {"category_code": "capacity", "help_needed": "A package of care"},
        ),
        (("stay_id",),),
    ),
    ("POST", "/api/v1/escalations/{esc_id}/steps"): Probe(
        lambda i: (f"/api/v1/escalations/{i['esc_id']}/steps", {"action": "note", "note": "Chased", "version": 1}),
        (("esc_id",),),
    ),
    ("POST", "/api/v1/wards/{ward_id}/rounds"): Probe(
        lambda i: (f"/api/v1/wards/{i['quiet_ward_id']}/rounds", {"attendees": [{"role_code": "nurse"}]}),
        (("quiet_ward_id",),),
    ),
    ("POST", "/api/v1/rounds/{round_id}/end"): Probe(
        lambda i: (f"/api/v1/rounds/{i['round_id']}/end", {"version": 1}), (("round_id",),)
    ),
    ("POST", "/api/v1/rounds/{round_id}/stays/{stay_id}"): Probe(
        lambda i: (
            f"/api/v1/rounds/{i['round_id']}/stays/{i['stay_id']}",
            {
                "stay_version": i["stay_version"],
                "review": {"meets_criteria_to_reside": True},
                "actions": [{"description": "Book transport", "owner_role_code": "nurse"}],
            },
        ),
        (("round_id", "stay_id"), ("round_id",), ("stay_id",)),
    ),
    ("POST", "/api/v1/hl7/adt"): SITE_WIDE_ONLY,
    # HTML forms ------------------------------------------------------------------------------
    ("POST", "/sign-in"): NO_IDS,
    ("POST", "/sign-out"): NO_IDS,
    # The audit viewer's patient filter by identifiers, within scope: tests/audit/test_viewer.py.
    ("POST", "/audit"): NO_IDS,
    ("POST", "/wards/{code}/rounds/new"): Probe(
        lambda i: (f"/wards/{i['quiet_code']}/rounds/new", {"roles": "nurse"}), (("quiet_code",),)
    ),
    ("POST", "/rounds/{round_id}/stays/{stay_id}"): Probe(
        lambda i: (f"/rounds/{i['round_id']}/stays/{i['stay_id']}", _form_step(i)),
        (("round_id", "stay_id"), ("round_id",), ("stay_id",)),
    ),
    ("POST", "/rounds/{round_id}/stays/{stay_id}/no-change"): Probe(
        lambda i: (f"/rounds/{i['round_id']}/stays/{i['stay_id']}/no-change", {"stay_version": i["stay_version"]}),
        (("round_id", "stay_id"), ("round_id",), ("stay_id",)),
    ),
    ("POST", "/rounds/{round_id}/stays/{stay_id}/skip"): Probe(
        lambda i: (f"/rounds/{i['round_id']}/stays/{i['stay_id']}/skip", {}),
        (("round_id", "stay_id"), ("round_id",), ("stay_id",)),
    ),
    ("POST", "/rounds/{round_id}/stays/{stay_id}/actions/{action_id}"): Probe(
        lambda i: (
            f"/rounds/{i['round_id']}/stays/{i['stay_id']}/actions/{i['action_id']}",
            {"done": "1", "version": 1},
        ),
        (("round_id", "stay_id", "action_id"), ("action_id",), ("stay_id",), ("round_id",)),
    ),
    ("POST", "/rounds/{round_id}/end"): Probe(
        lambda i: (f"/rounds/{i['round_id']}/end", {"version": 1}), (("round_id",),)
    ),
    ("POST", "/escalations/{esc_id}"): Probe(
        lambda i: (f"/escalations/{i['esc_id']}", {"action": "note", "note": "Chased", "version": 1}),
        (("esc_id",),),
    ),
    ("POST", "/stays/{stay_id}/escalations/new"): Probe(
        lambda i: (
            f"/stays/{i['stay_id']}/escalations/new",
            {"category_code": "capacity", "help_needed": "A package of care"},
        ),
        (("stay_id",),),
    ),
    ("POST", "/stays/{stay_id}"): Probe(lambda i: (f"/stays/{i['stay_id']}", _form_step(i)), (("stay_id",),)),
    ("POST", "/stays/{stay_id}/referrals"): Probe(
        lambda i: (
            f"/stays/{i['stay_id']}/referrals",
            {"service_code": "therapy", "sent_date": "2026-03-10", "sent_time": "09:00"},
        ),
        (("stay_id",),),
    ),
    ("POST", "/stays/{stay_id}/referrals/{referral_id}"): Probe(
        lambda i: (
            f"/stays/{i['stay_id']}/referrals/{i['referral_id']}",
            {"step": "decided", "on_date": "2026-03-10", "at_time": "10:30", "text": "Accepted", "version": 1},
        ),
        (("stay_id", "referral_id"), ("referral_id",), ("stay_id",)),
    ),
    ("POST", "/stays/{stay_id}/milestones/{milestone_id}"): Probe(
        lambda i: (f"/stays/{i['stay_id']}/milestones/{i['milestone_id']}", {"status": "done", "version": 1}),
        (("stay_id", "milestone_id"), ("milestone_id",), ("stay_id",)),
    ),
    ("POST", "/stays/{stay_id}/actions/{action_id}/done"): Probe(
        lambda i: (f"/stays/{i['stay_id']}/actions/{i['action_id']}/done", {"version": 1}),
        (("stay_id", "action_id"), ("action_id",), ("stay_id",)),
    ),
    ("POST", "/stays/{stay_id}/failed-discharges/new"): Probe(
        lambda i: (f"/stays/{i['stay_id']}/failed-discharges/new", _fd_form(i)), (("stay_id",),)
    ),
    ("POST", "/failed-discharges/new"): Probe(
        lambda i: ("/failed-discharges/new", _fd_form(i) | {"stay_id": i["stay_id"], "ward": i["ward_id"]}),
        (("stay_id",), ("stay_id", "ward_id")),
    ),
    ("POST", "/stays/{stay_id}/edd"): Probe(
        lambda i: (
            f"/stays/{i['stay_id']}/edd",
            {
                "expected_discharge_date": "2026-03-14",
                "reason": "",
                "stay_version": i["stay_version"],
                "failed_discharge": i["fd_id"],
            },
        ),
        (("stay_id",), ("fd_id",)),
    ),
    ("POST", "/failed-discharges/{fd_id}/follow-up-done"): Probe(
        lambda i: (f"/failed-discharges/{i['fd_id']}/follow-up-done", {"version": 1}), (("fd_id",),)
    ),
    ("POST", "/alerts/read"): OWN_ALERTS,
    ("POST", "/alerts/{alert_id}/read"): OWN_ALERTS,
    ("POST", "/alerts/settings"): OWN_ALERTS,
    # Day one (app/views/movements.py, ward_list.py, hospital.py) ---------------------------------
    ("POST", "/beds/{bed_id}/admit"): Probe(lambda i: (f"/beds/{i['bed_id']}/admit", _admit_form(i)), (("bed_id",),)),
    ("POST", "/stays/{stay_id}/move"): Probe(
        lambda i: (
            f"/stays/{i['stay_id']}/move",
            {"place": f"{i['quiet_ward_id']}-{i['quiet_bed_id']}", "version": i["stay_version"]},
        ),
        (("stay_id",), ("quiet_ward_id", "quiet_bed_id"), ("quiet_bed_id",)),
    ),
    ("POST", "/stays/{stay_id}/discharge"): Probe(
        lambda i: (
            f"/stays/{i['stay_id']}/discharge",
            {
                "discharged_date": "2026-03-10",
                "discharged_time": "10:00",
                "destination_code": "19",
                "version": i["stay_version"],
            },
        ),  # fmt: skip
        (("stay_id",),),
    ),
    ("POST", "/stays/{stay_id}/correct"): Probe(
        lambda i: (f"/stays/{i['former_stay_id']}/correct", _correct_form(i)), (("former_stay_id",),)
    ),
    ("POST", "/beds/{bed_id}/state"): Probe(
        lambda i: (f"/beds/{i['bed_id']}/state", {"state_code": "cleaning", "version": i["bed_version"]}),
        (("bed_id",),),
    ),
    ("POST", "/wards/{code}/ward-list"): DAY_ONE_WARD_LIST,
    ("POST", "/wards/{code}/ward-list/apply"): DAY_ONE_WARD_LIST,
    ("POST", "/admin/sites"): SITE_WIDE_ONLY,
    ("POST", "/admin/wards"): "site-wide roles only (ward managers hold ward:manage but get 403): "
    "tests/stays/test_day_one_pages.py",
    ("POST", "/admin/wards/{ward_id}"): Probe(
        lambda i: (
            f"/admin/wards/{i['ward_id']}",
            {
                "name": "Renamed Ward",
                "specialty": "",
                "executive_sponsor_id": i["sponsor_id"],
                "is_active": "yes",
                "version": i["ward_version"],
            },
        ),  # fmt: skip
        (("ward_id",), ("sponsor_id",)),
    ),
    ("POST", "/admin/wards/{ward_id}/beds"): Probe(
        lambda i: (f"/admin/wards/{i['ward_id']}/beds", {"bed_label": "NEW-1", "bed_sort_order": "50"}),
        (("ward_id",),),
    ),
    ("POST", "/admin/beds/{bed_id}"): Probe(
        lambda i: (f"/admin/beds/{i['bed_id']}", {"label": "NEW-2", "sort_order": "7", "version": i["bed_version"]}),
        (("bed_id",),),
    ),
    ("POST", "/admin/users/new"): SITE_WIDE_ONLY,
    ("POST", "/admin/users/{user_id}"): SITE_WIDE_ONLY,
    ("POST", "/admin/users/{user_id}/password"): SITE_WIDE_ONLY,
    ("POST", "/admin/users/{user_id}/unlock"): SITE_WIDE_ONLY,
    ("POST", "/admin/users/{user_id}/tokens"): SITE_WIDE_ONLY,
    ("POST", "/admin/users/{user_id}/tokens/{token_id}/revoke"): SITE_WIDE_ONLY,
    ("POST", "/admin/users/{user_id}/sessions/end"): SITE_WIDE_ONLY,
    ("POST", "/admin/sessions/{session_id}/end"): SITE_WIDE_ONLY,
    ("POST", "/admin/sign-in-policy"): SITE_WIDE_ONLY,
    # The identity provider's call: a signed logout token, no session and no ward.
    ("POST", "/auth/oidc/back-channel-logout"): NO_IDS,
}

WARD_SCOPED_ROLES = ("nurse", "ward_manager")  # between them, every permission a ward-scoped role has
MISSING = {"code": "NO-SUCH-WARD", "quiet_code": "NO-SUCH-WARD"}  # any other id: MAX_ID


def write_routes() -> set[tuple[str, str]]:
    app = create_app(settings_for("sqlite://"))
    found = set()
    for route in iter_route_contexts(app.routes):
        for method in getattr(route, "methods", None) or ():
            if method not in ("GET", "HEAD", "OPTIONS"):
                found.add((method, route.path))
    return found


def test_every_write_route_is_probed():
    routes = write_routes()
    missing = sorted(routes - set(PROBES))
    assert not missing, f"add this route to the table (PROBES in {__name__}): {missing}"
    assert not sorted(set(PROBES) - routes), "PROBES lists routes the app no longer has"


def _perm(key: tuple[str, str]) -> Perm | str | None:
    return ROUTES[key] if key[1].startswith("/api/") else PAGES[key]


def test_site_wide_only_routes_are_refused_to_every_ward_scoped_role():
    for key, probe in PROBES.items():
        if probe == SITE_WIDE_ONLY and key != ("POST", "/api/v1/wards"):
            perm = _perm(key)
            assert isinstance(perm, Perm) and not any(allows(r, perm) for r in WARD_SCOPED_ROLES), key
    # Creating a ward needs ward:manage, which ward managers hold, and a site-wide role (tested below).


# The two wards -------------------------------------------------------------------------------


def _side(db: Session, tag: str, now) -> tuple[Ids, list[str]]:  # noqa: ANN001
    """A main ward (a patient in, one gone home, an open round, one of everything) and a quiet
    ward (no round, free beds). Returns its ids and the strings that identify its data."""
    site = factories.make_site(db)
    main = factories.make_ward(db, site=site, beds=4, code=f"{tag}-MAIN")
    quiet = factories.make_ward(db, site=site, beds=2, code=f"{tag}-QUIET")
    main.name, quiet.name = f"{tag.title()}moor Main Ward", f"{tag.title()}moor Quiet Ward"
    beds = factories.beds_of(db, main) + factories.beds_of(db, quiet)
    for n, bed in enumerate(beds):
        bed.label = f"{tag}-BED-{n}"
    setup = factories.principal(db, factories.make_user(db, "flow_coordinator", display_name=f"{tag.title()} Setup"))
    sponsor = factories.make_user(db, "executive_sponsor", wards=[main], display_name=f"{tag.title()} Sponsor")
    inpatient = factories.make_patient(
        db, setup, given_name=f"{tag.title()}ina", family_name=f"{tag.title()}-Inpatient"
    )
    former = factories.make_patient(db, setup, given_name=f"{tag.title()}ora", family_name=f"{tag.title()}-Former")
    stay = factories.make_stay(
        db, setup, main, beds[0], patient=inpatient, admitted_at=now - timedelta(days=3), pathway=1
    )  # a pathway: its discharge milestones
    gone = factories.make_stay(db, setup, main, beds[1], patient=former, admitted_at=now - timedelta(days=9))
    discharge(
        db, actor=setup, stay=gone, discharged_at=now - timedelta(days=5), destination_code="19", pathway=0,
        expected_version=gone.version, now=now - timedelta(days=5),
    )  # fmt: skip
    factories.make_review(db, setup, stay, now=now - timedelta(days=1))
    board_round = factories.make_round(db, setup, main, now=now - timedelta(minutes=30))
    action = factories.make_action(db, setup, stay, description="Chase echo", now=now)
    fd, _ = log_failed_discharge(
        db, actor=setup, stay=stay, now=now,
        data=FailedDischargeCreate(
            planned_for=now - timedelta(hours=2), causes=["transport"], primary_cause="transport", avoidable=False,
            follow_up_owner_role_code="nurse",
        ),
    )  # fmt: skip
    esc = raise_escalation(
        db, actor=setup, stay=stay, data=EscalationCreate(category_code="capacity", help_needed="Bed"), now=now
    )
    referral = Referral(
        stay_id=stay.id, service_code="social_care", sent_at=now - timedelta(hours=5), created_by_id=setup.user_id,
        created_at=now, updated_at=now,
    )  # fmt: skip
    crud.create(db, actor=setup, row=referral, now=now, ward_id=main.id, patient_id=stay.patient_id)
    db.flush()
    ids = {
        "ward_id": main.id,
        "code": main.code,
        "quiet_ward_id": quiet.id,
        "quiet_code": quiet.code,
        "bed_id": beds[2].id,
        "quiet_bed_id": beds[4].id,
        "stay_id": stay.id,
        "stay_version": stay.version,
        "patient_id": inpatient.id,
        "ward_version": main.version,
        "bed_version": beds[2].version,
        "former_stay_id": gone.id,
        "former_stay_version": gone.version,
        "former_patient_id": former.id,
        "action_id": action.id,
        "fd_id": fd.id,
        "esc_id": esc.id,
        "round_id": board_round.id,
        "referral_id": referral.id,
        "sponsor_id": sponsor.id,
        "milestone_id": milestones_for_stay(db, stay.id)[0].id,
    }
    texts = [main.code, quiet.code, main.name, quiet.name, f"{tag}-BED-", f"{tag.title()} Setup", sponsor.display_name]
    for patient in (inpatient, former):
        texts += [patient.nhs_number, patient.mrn, patient.given_name, patient.family_name]
    return ids, texts


@dataclass
class World:
    own: Ids
    foreign: Ids
    foreign_texts: list[str]
    users: dict[str, User]


@pytest.fixture
def world(db, now) -> World:
    own, _ = _side(db, "HOME", now)
    foreign, texts = _side(db, "FRGN", now)
    wards = [db.get(Ward, own["ward_id"]), db.get(Ward, own["quiet_ward_id"])]
    users = {role: factories.make_user(db, role, wards=wards) for role in WARD_SCOPED_ROLES}
    return World(own, foreign, texts, users)


# Checks --------------------------------------------------------------------------------------

_COUNTED = (
    AuditEvent, Patient, Stay, StayLocation, EddChange, Ward, Bed, UserWard, Action, FailedDischarge, Escalation,
    EscalationEvent, BoardRound, BoardRoundEntry, DailyReview, Referral, BedStatePeriod, DischargeMilestone,
)  # fmt: skip
_VERSIONED = {
    "ward_id": Ward, "quiet_ward_id": Ward, "bed_id": Bed, "quiet_bed_id": Bed, "stay_id": Stay,
    "former_stay_id": Stay, "former_patient_id": Patient, "action_id": Action, "fd_id": FailedDischarge,
    "esc_id": Escalation, "round_id": BoardRound, "referral_id": Referral, "sponsor_id": User,
    "milestone_id": DischargeMilestone,
}  # fmt: skip


def state(db: Session, ids: Ids) -> dict:
    """Row counts of everything a write touches (every write is audited, but not every write
    is a change: a skipped patient only adds a round entry) and the other ward's versions."""
    db.expire_all()
    counts = {t.__name__: db.exec(select(func.count()).select_from(t)).one() for t in _COUNTED}
    versions = {key: db.get(model, ids[key]).version for key, model in _VERSIONED.items()}
    return counts | versions


def _with(ids: Ids, keys: tuple[str, ...], source: Ids | None) -> Ids:
    """ids with `keys` taken from `source` (None: ids that name nothing)."""
    return ids | {k: (source[k] if source is not None else MISSING.get(k, MAX_ID)) for k in keys}


_VOLATILE = re.compile(r'(name="csrf_token" value=|nonce=|nonce-|csrf-token" content=)"?[^"\s>\']+')


def _normalised(r: httpx.Response, swapped: list[str]) -> object:
    """What must be the same for another ward's id and a missing one: JSON as it is, HTML
    without its per-request tokens, the ids that were sent, or any number."""
    if r.headers.get("content-type", "").startswith("application/json"):
        return r.json()
    text = _VOLATILE.sub(r"\1*", r.text)
    for value in swapped:
        text = text.replace(value, "*")
    return re.sub(r"\d+", "#", text)


# Keys in a JSON answer that name a record, and the other ward's ids they must not hold.
_NAMED = {
    "stay_id": ("stay_id", "former_stay_id"),
    "patient_id": ("patient_id", "former_patient_id"),
    "board_round_id": ("round_id",),
    "ward_id": ("ward_id", "quiet_ward_id"),
    "bed_id": ("bed_id", "quiet_bed_id"),
}


def _foreign_ids_in(value: object, foreign: Ids) -> list[tuple[str, int]]:
    """(key, id) pairs in a JSON answer that name one of the other ward's records."""
    found: list[tuple[str, int]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _NAMED and item in {foreign[k] for k in _NAMED[key]}:
                found.append((key, item))
            found += _foreign_ids_in(item, foreign)
    elif isinstance(value, list):
        for item in value:
            found += _foreign_ids_in(item, foreign)
    return found


def assert_nothing_foreign(r: httpx.Response, world: World, where: str) -> None:
    text = _VOLATILE.sub(r"\1*", r.text)
    leaked = [t for t in world.foreign_texts if t in text]
    assert not leaked, f"{where}: the answer shows another ward's data {leaked}"
    if r.headers.get("content-type", "").startswith("application/json"):
        assert not _foreign_ids_in(r.json(), world.foreign), f"{where}: names another ward's records: {r.text[:300]}"


# The walk -----------------------------------------------------------------------------------


class Sender:
    """The user's API client (bearer token) or signed-in browser, made before anything is
    counted: issuing a token and signing in are audited too."""

    def __init__(self, api_as, browser_as, user: User, path: str) -> None:  # noqa: ANN001
        self.api = api_as(user) if path.startswith("/api/") else None
        self.browser = None if self.api else browser_as(user)

    def send(self, method: str, url: str, body: dict | list | None) -> httpx.Response:
        if self.api is not None:
            return self.api.request(method, url.removeprefix("/api/v1"), json=body)
        assert self.browser is not None
        return self.browser.post(url, body or {})


PROBED = sorted(k for k, v in PROBES.items() if isinstance(v, Probe))


def _role_for(key: tuple[str, str]) -> str:
    perm = _perm(key)
    role = next((r for r in WARD_SCOPED_ROLES if perm is None or allows(r, perm)), None)
    assert role is not None, f"{key}: no ward-scoped role may use it: mark it {SITE_WIDE_ONLY!r}"
    return role


@pytest.mark.parametrize("key", PROBED, ids=[f"{m} {p}" for m, p in PROBED])
def test_another_wards_ids_are_refused_like_missing_ones(db, api_as, browser_as, world, key):
    probe = PROBES[key]
    assert isinstance(probe, Probe)
    method, path = key
    sender = Sender(api_as, browser_as, world.users[_role_for(key)], path)
    for keys in probe.swaps:
        where = f"{method} {path} with the other ward's {', '.join(keys)}"
        before = state(db, world.foreign)
        url, body = probe.request(_with(world.own, keys, world.foreign))
        refused = sender.send(method, url, body)
        assert refused.status_code in (404, 422), f"{where}: {refused.status_code} {refused.text[:300]}"
        assert state(db, world.foreign) == before, f"{where}: something was written"
        assert_nothing_foreign(refused, world, where)
        url, body = probe.request(_with(world.own, keys, None))
        missing = sender.send(method, url, body)
        assert state(db, world.foreign) == before, f"{where} (missing ids): something was written"
        swapped = [str(v) for k in keys for v in (world.foreign[k], MISSING.get(k, MAX_ID))]
        assert (refused.status_code, _normalised(refused, swapped)) == (
            missing.status_code,
            _normalised(missing, swapped),
        ), f"{where}: answered differently from an id that does not exist"
    # The same request with the user's own ids goes through: the refusals above were the scope.
    before = state(db, world.foreign)
    url, body = probe.request(world.own)
    done = sender.send(method, url, body)
    assert done.status_code in (200, 201, 303), f"{method} {path} with own ids: {done.status_code} {done.text[:300]}"
    assert state(db, world.foreign) != before, f"{method} {path} with own ids wrote nothing: the probe proves nothing"


def test_creating_a_ward_is_for_site_wide_roles(db, api_as, world):
    manager = api_as(world.users["ward_manager"])
    body = {"site_id": 1, "code": "NEW-W", "name": "New Ward", "executive_sponsor_id": world.foreign["sponsor_id"]}
    before = state(db, world.foreign)
    r = manager.post("/wards", json=body)
    assert r.status_code == 403 and state(db, world.foreign) == before
