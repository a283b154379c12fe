"""The JSON API over real HTTP: each resource's create/read/update path and its rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.models import REFERENCE_LISTS
from app.models.reference import ReferenceBase
from tests import factories


@pytest.fixture
def stay(db, ward, nurse_principal):
    return factories.make_stay(db, nurse_principal, ward, factories.beds_of(db, ward)[0])


def test_patient_register_lookup_update(db, api, ward, nurse_principal):
    r = api.post(
        "/patients",
        json={
            "nhs_number": "9434765919",
            "mrn": "K1",
            "given_name": "Jo",
            "family_name": "Bloggs",
            "date_of_birth": "1950-01-02",
            "sex": "male",
        },
    )
    assert r.status_code == 201
    patient = r.json()
    dup = api.post(
        "/patients",
        json={
            "nhs_number": "943 476 5919",
            "mrn": "K2",
            "given_name": "X",
            "family_name": "Y",
            "date_of_birth": "1950-01-02",
            "sex": "male",
        },
    )
    assert dup.status_code == 409 and dup.json()["error"]["fields"][0]["field"] == "nhs_number"
    # Not yet on any of my wards: invisible to a ward-scoped nurse.
    assert api.get(f"/patients/{patient['id']}").status_code == 404
    factories.make_stay(db, nurse_principal, ward, None, patient=db.get(factories.Patient, patient["id"]))
    assert api.post("/patients/search", json={"nhs_number": "9434765919"}).json()[0]["id"] == patient["id"]
    r = api.patch(f"/patients/{patient['id']}", json={"given_name": "Joanne", "version": patient["version"]})
    assert r.status_code == 200 and r.json()["given_name"] == "Joanne"
    r = api.patch(f"/patients/{patient['id']}", json={"given_name": None, "version": r.json()["version"]})
    assert r.status_code == 422


def test_review_api_create_then_replace(db, api, stay):
    body = {
        "meets_criteria_to_reside": False,
        "delay_reason_code": "CAP03",
        "day_status": "red",
        "red_day_reason_code": "waiting_external",
        "pathway": 3,
        "plan": "Care home assessment Thursday",
    }
    r = api.post(f"/stays/{stay.id}/reviews", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["review_date"] == "2026-03-10"
    replacement = body | {
        "day_status": "green",
        "day_status_override_reason": "Assessment booked: nothing to wait for today",
        "red_day_reason_code": None,
    }
    r = api.post(f"/stays/{stay.id}/reviews", json=replacement | {"version": r.json()["version"]})
    assert r.status_code == 200
    reviews = api.get(f"/stays/{stay.id}/reviews").json()
    assert len(reviews) == 1 and reviews[0]["day_status"] == "green"
    detail = api.get(f"/stays/{stay.id}").json()
    assert detail["stay"]["discharge_ready_date"] == "2026-03-10" and detail["stay"]["pathway"] == 3
    r = api.post(f"/stays/{stay.id}/reviews", json={"meets_criteria_to_reside": False, "day_status": "green"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "delay_reason_code"


def test_actions(db, api, stay, now):
    r = api.post(
        f"/stays/{stay.id}/actions",
        json={
            "description": "Chase OT assessment",
            "owner_role_code": "therapist",
            "due_at": (now + timedelta(hours=3)).isoformat(),
        },
    )
    assert r.status_code == 201
    action = r.json()
    r = api.patch(
        f"/stays/{stay.id}/actions/{action['id']}", json={"done": True}, headers={"If-Match": f'"{action["version"]}"'}
    )
    assert r.status_code == 200 and r.json()["done_at"] is not None
    assert api.get(f"/stays/{stay.id}/actions", params={"open_only": True}).json() == []
    r = api.post(f"/stays/{stay.id}/actions", json={"description": "x", "owner_role_code": "wizard"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "owner_role_code"


def test_failed_discharges(db, api, stay, ward, now):
    body = {
        "planned_for": (now - timedelta(hours=2)).isoformat(),
        "causes": ["transport", "medicines"],
        "primary_cause": "medicines",
        "detail": "TTO not dispensed by 4pm",
        "avoidable": True,
        "follow_up_owner_role_code": "flow_coordinator",
    }
    r = api.post(f"/stays/{stay.id}/failed-discharges", json=body)
    assert r.status_code == 201, r.text
    fd = r.json()
    assert fd["causes"] == ["medicines", "transport"] and fd["primary_cause"] == "medicines"
    listed = api.get(
        "/failed-discharges", params={"ward_id": ward.id, "date_from": "2026-03-10", "date_to": "2026-03-10"}
    ).json()
    assert [x["id"] for x in listed] == [fd["id"]]
    assert api.get("/failed-discharges", params={"date_from": "2026-03-11"}).json() == []
    r = api.patch(
        f"/stays/{stay.id}/failed-discharges/{fd['id']}", json={"follow_up_done": True, "version": fd["version"]}
    )
    assert r.status_code == 200 and r.json()["follow_up_done_at"] is not None
    r = api.post(
        f"/stays/{stay.id}/failed-discharges", json=body | {"causes": ["teleport"], "primary_cause": "teleport"}
    )
    assert r.status_code == 422


def test_escalation_ladder(db, api, api_as, stay, ward):
    r = api.post(
        f"/stays/{stay.id}/escalations", json={"category_code": "capacity", "help_needed": "No P1 capacity for 5 days"}
    )
    assert r.status_code == 201
    esc = r.json()
    assert esc["level"] == 1 and esc["status"] == "open" and [e["kind"] for e in esc["events"]] == ["raised"]
    manager = api_as(factories.make_user(db, "ward_manager", wards=[ward]))
    # Nurses can raise but not act on escalations.
    assert (
        api.post(
            f"/escalations/{esc['id']}/steps", json={"action": "acknowledge", "version": esc["version"]}
        ).status_code
        == 403
    )
    esc = manager.post(
        f"/escalations/{esc['id']}/steps", json={"action": "acknowledge", "version": esc["version"]}
    ).json()
    assert esc["status"] == "acknowledged"
    r = manager.post(f"/escalations/{esc['id']}/steps", json={"action": "escalate", "version": esc["version"]})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "note"
    esc = manager.post(
        f"/escalations/{esc['id']}/steps", json={"action": "escalate", "note": "Needs site", "version": esc["version"]}
    ).json()
    assert esc["level"] == 2 and esc["status"] == "open"
    # The ward manager cannot act above their rung; the site flow team can.
    r = manager.post(
        f"/escalations/{esc['id']}/steps", json={"action": "resolve", "note": "x", "version": esc["version"]}
    )
    assert r.status_code == 403
    flow = api_as(factories.make_user(db, "flow_coordinator"))
    esc = flow.post(
        f"/escalations/{esc['id']}/steps",
        json={"action": "resolve", "note": "Spot purchase agreed", "version": esc["version"]},
    ).json()
    assert esc["status"] == "resolved" and esc["outcome"] == "Spot purchase agreed"
    assert [e["kind"] for e in esc["events"]] == ["raised", "acknowledged", "escalated", "resolved"]
    assert api.get("/escalations").json() == []
    assert [e["id"] for e in api.get("/escalations", params={"status": "resolved"}).json()] == [esc["id"]]


def test_board_round_session(db, api, ward):
    r = api.post(
        f"/wards/{ward.id}/rounds",
        json={"attendees": [{"role_code": "nurse", "name": "Sister Jones"}, {"role_code": "therapist"}]},
    )
    assert r.status_code == 201
    board_round = r.json()
    assert [a["role_code"] for a in board_round["attendees"]] == ["nurse", "therapist"]
    assert api.post(f"/wards/{ward.id}/rounds", json={}).status_code == 409
    r = api.post(f"/rounds/{board_round['id']}/end", json={"version": board_round["version"]})
    assert r.status_code == 200 and r.json()["ended_at"] is not None


def test_wards_and_beds(db, api_as, ward):
    admin = factories.make_user(db, "admin")
    client = api_as(admin)
    r = client.post("/wards", json={"site_id": ward.site_id, "code": "W99", "name": "Ward 99"})
    assert r.status_code == 201
    new_ward = r.json()
    assert client.post("/wards", json={"site_id": ward.site_id, "code": "W99", "name": "Again"}).status_code == 409
    bed = client.post(f"/wards/{new_ward['id']}/beds", json={"label": "B1"}).json()
    r = client.patch(f"/beds/{bed['id']}", json={"is_open": False, "version": bed["version"]})
    assert r.status_code == 200 and r.json()["is_open"] is False
    codes = [w["code"] for w in client.get("/wards").json()]
    assert "W99" in codes and ward.code in codes


def test_transfer_and_discharge_over_http(db, api, stay, ward, now):
    beds = factories.beds_of(db, ward)
    r = api.post(f"/stays/{stay.id}/transfer", json={"ward_id": ward.id, "bed_id": beds[1].id, "version": stay.version})
    assert r.status_code == 200
    detail = r.json()
    assert len(detail["locations"]) == 2
    r = api.post(
        f"/stays/{stay.id}/discharge",
        json={
            "discharged_at": now.isoformat(),
            "destination_code": "19",
            "pathway": 0,
            "version": detail["stay"]["version"],
        },
    )
    assert r.status_code == 200 and r.json()["stay"]["discharged_at"] is not None
    r = api.put(
        f"/stays/{stay.id}/edd", json={"expected_discharge_date": "2026-03-20", "version": r.json()["stay"]["version"]}
    )
    assert r.status_code == 409
    # Nurses may not make corrections to discharged stays.
    assert api.post(f"/stays/{stay.id}/correction", json={"reason": "x", "pathway": 1, "version": 1}).status_code == 403


def test_reference_lists(api):
    criteria = api.get("/reference/criteria").json()
    assert [c["code"] for c in criteria][:3] == ["01", "02", "03"] and len(criteria) == 12
    families = {r["family_code"] for r in api.get("/reference/delay-reasons").json()}
    assert families == {"hospital_process", "care_transfer_hub", "interface", "capacity", "wellbeing"}
    assert api.get("/reference/nonsense").status_code == 422
    for entry in REFERENCE_LISTS.values():
        assert api.get(f"/reference/{entry.path}").json(), entry.path  # every list is served, and seeded


def test_every_reference_table_is_in_the_registry():
    assert {e.model for e in REFERENCE_LISTS.values()} == set(ReferenceBase.__subclasses__())
    assert len({e.path for e in REFERENCE_LISTS.values()}) == len(REFERENCE_LISTS)
