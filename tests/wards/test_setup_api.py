"""Setting up the hospital over the JSON API: a site, its wards, their beds; relabelling,
reordering and retiring beds keeps their ids and history."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from app.models import AuditEvent, Bed, BedStatePeriod, StayLocation
from tests import factories


def test_an_administrator_sets_up_a_hospital_from_nothing(db, api_as):
    admin = api_as(factories.make_user(db, "admin"))
    sponsor = factories.make_user(db, "executive_sponsor")
    r = admin.post("/sites", json={"code": "RNEW1", "name": "New General"})
    assert r.status_code == 201, r.text
    site = r.json()
    assert admin.post("/sites", json={"code": "RNEW1", "name": "Again"}).status_code == 409
    r = admin.patch(f"/sites/{site['id']}", json={"name": "New General Hospital", "version": site["version"]})
    assert r.status_code == 200 and r.json()["name"] == "New General Hospital" and r.json()["version"] == 2
    stale = admin.patch(f"/sites/{site['id']}", json={"name": "Old", "version": site["version"]})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_version"

    r = admin.post(
        "/wards",
        json={
            "site_id": site["id"],
            "code": "AMU",
            "name": "Acute Medical Unit",
            "specialty": "Acute medicine",
            "executive_sponsor_id": sponsor.id,
        },
    )
    assert r.status_code == 201, r.text
    ward = r.json()
    assert ward["specialty"] == "Acute medicine" and ward["executive_sponsor_id"] == sponsor.id
    for n, label in enumerate(["A1", "A2", "A3"]):
        r = admin.post(f"/wards/{ward['id']}/beds", json={"label": label, "sort_order": n})
        assert r.status_code == 201 and r.json()["state_code"] == "open"
    escalation = admin.post(
        f"/wards/{ward['id']}/beds", json={"label": "E1", "sort_order": 9, "is_escalation": True, "is_open": False}
    ).json()
    assert escalation["state_code"] == "closed" and escalation["is_open"] is False
    board = admin.get(f"/wards/{ward['id']}/board").json()
    assert [row["bed"]["label"] for row in board["rows"]] == ["A1", "A2", "A3", "E1"]
    assert board["rows"][3]["bed_state"]["closure_reason_code"] == "escalation_not_in_use"
    assert board["counts"]["beds_available"] == 3 and board["counts"]["beds_closed"] == 1
    assert board["pas_feed"] is False
    created = db.exec(select(AuditEvent.entity_type).where(AuditEvent.action == "create")).all()
    assert {"site", "ward", "bed"} <= set(created)


def test_only_administrators_create_sites(db, api_as):
    for role in ("flow_coordinator", "ward_manager", "nurse"):
        r = api_as(factories.make_user(db, role)).post("/sites", json={"code": "RNO", "name": "No"})
        assert r.status_code == 403, role


def test_relabel_and_reorder_keep_the_bed_and_its_history(db, api_as, ward, now):
    manager = factories.make_user(db, "ward_manager", wards=[ward])
    client = api_as(manager)
    beds = factories.beds_of(db, ward)
    stay = factories.make_stay(db, factories.principal(db, manager), ward, beds[0])
    bed = client.get(f"/wards/{ward.id}/beds").json()[0]
    r = client.patch(f"/beds/{bed['id']}", json={"label": "BAY1-1", "sort_order": 50, "version": bed["version"]})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == bed["id"] and r.json()["label"] == "BAY1-1"
    board = client.get(f"/wards/{ward.id}/board").json()
    assert board["rows"][-1]["bed"]["label"] == "BAY1-1" and board["rows"][-1]["stay"]["id"] == stay.id
    history = db.exec(select(StayLocation).where(StayLocation.stay_id == stay.id)).all()
    assert [h.bed_id for h in history] == [bed["id"]]
    event = db.exec(
        select(AuditEvent).where(AuditEvent.entity_type == "bed", AuditEvent.entity_id == str(bed["id"]))
    ).all()[-1]
    assert event.before == {"label": "B01", "sort_order": 0} and event.after == {"label": "BAY1-1", "sort_order": 50}


def test_a_bed_with_a_patient_in_it_cannot_be_removed(db, api_as, ward):
    manager = factories.make_user(db, "ward_manager", wards=[ward])
    client = api_as(manager)
    beds = factories.beds_of(db, ward)
    stay = factories.make_stay(db, factories.principal(db, manager), ward, beds[0])
    r = client.patch(f"/beds/{beds[0].id}", json={"retired": True, "version": beds[0].version})
    assert r.status_code == 409
    assert r.json()["error"]["message"] == (
        "Bed B01 has a patient in it: move or discharge them before removing the bed"
    )
    assert db.get(Bed, beds[0].id).retired_at is None

    r = client.patch(f"/beds/{beds[1].id}", json={"retired": True, "version": beds[1].version})
    assert r.status_code == 200 and r.json()["retired_at"] is not None
    board = client.get(f"/wards/{ward.id}/board").json()
    assert beds[1].id not in [row["bed"]["id"] for row in board["rows"] if row["bed"]]
    # Its label is still taken: bringing it back is how the same bed returns.
    clash = client.post(f"/wards/{ward.id}/beds", json={"label": "B02"})
    assert clash.status_code == 409 and "retired bed" in clash.json()["error"]["message"]
    r = client.post(
        f"/stays/{stay.id}/transfer", json={"ward_id": ward.id, "bed_id": beds[1].id, "version": stay.version}
    )
    assert r.status_code == 422 and r.json()["error"]["message"] == "That bed has been retired"
    version = client.get(f"/wards/{ward.id}/beds").json()[1]["version"]
    r = client.patch(f"/beds/{beds[1].id}", json={"retired": False, "version": version})
    assert r.status_code == 200 and r.json()["retired_at"] is None and r.json()["state_code"] == "closed"
    actions = db.exec(
        select(AuditEvent.action).where(AuditEvent.entity_type == "bed", AuditEvent.entity_id == str(beds[1].id))
    ).all()
    assert actions == ["retire_bed", "update"]


def test_closing_a_bed_by_patch_records_a_closed_period(db, api_as, ward, now, clock):
    manager = api_as(factories.make_user(db, "ward_manager", wards=[ward]))
    bed = factories.beds_of(db, ward)[2]
    r = manager.patch(f"/beds/{bed.id}", json={"is_open": False, "version": bed.version})
    assert r.status_code == 200 and r.json()["state_code"] == "closed"
    clock.advance(hours=2)
    r = manager.patch(f"/beds/{bed.id}", json={"is_open": True, "version": r.json()["version"]})
    assert r.json()["state_code"] == "open"
    periods = db.exec(select(BedStatePeriod).where(BedStatePeriod.bed_id == bed.id).order_by(BedStatePeriod.id)).all()
    assert [(p.state_code, p.closure_reason_code) for p in periods] == [("closed", "other"), ("open", None)]
    assert periods[0].ended_at - periods[0].started_at == timedelta(hours=2)
