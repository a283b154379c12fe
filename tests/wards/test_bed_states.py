"""Bed states the flow team manages: open, closed with a reason, awaiting cleaning, reserved;
their history, the time spent in each, and what the board shows."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from app.models import AuditEvent, Bed, BedStatePeriod
from app.stays.service import discharge
from tests import factories


def _state(client, bed, **body):  # noqa: ANN001
    version = client.get(f"/wards/{bed.ward_id}/beds").json()
    version = next(b["version"] for b in version if b["id"] == bed.id)
    return client.put(f"/beds/{bed.id}/state", json=body | {"version": version})


def test_the_flow_team_closes_cleans_and_reserves_beds(db, api_as, ward, now):
    flow = api_as(factories.make_user(db, "flow_coordinator"))
    beds = factories.beds_of(db, ward)
    r = _state(flow, beds[0], state_code="closed")
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "closure_reason_code"
    r = _state(flow, beds[0], state_code="closed", closure_reason_code="infection_control", note="Norovirus bay")
    assert r.status_code == 200, r.text
    assert r.json()["bed"]["is_open"] is False and r.json()["state"]["closure_reason_code"] == "infection_control"
    assert _state(flow, beds[1], state_code="cleaning").json()["bed"]["state_code"] == "cleaning"
    r = _state(flow, beds[2], state_code="reserved")
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "reserved_for"
    r = _state(flow, beds[2], state_code="reserved", reserved_for="Man, 80, chest pain", reserved_from="ED")
    assert r.status_code == 200 and r.json()["state"]["reserved_from"] == "ED"
    assert _state(flow, beds[3], state_code="mended").status_code == 422

    board = flow.get(f"/wards/{ward.id}/board").json()
    states = {row["bed"]["label"]: row["bed_state"] for row in board["rows"]}
    assert states["B01"]["state_code"] == "closed" and states["B01"]["note"] == "Norovirus bay"
    assert states["B02"]["state_code"] == "cleaning" and states["B02"]["started_at"].startswith(now.date().isoformat())
    assert states["B03"]["reserved_for"] == "Man, 80, chest pain"
    counts = board["counts"]
    assert (counts["beds_available"], counts["beds_cleaning"], counts["beds_reserved"], counts["beds_closed"]) == (
        3,
        1,
        1,
        1,
    )
    # Every change is audited with the state before and after.
    events = db.exec(select(AuditEvent).where(AuditEvent.action == "bed_state").order_by(AuditEvent.id)).all()
    assert [e.after["state_code"] for e in events] == ["closed", "cleaning", "reserved"]
    assert events[0].before["state_code"] == "open" and events[0].ward_id == ward.id
    # The same state again changes nothing.
    assert _state(flow, beds[1], state_code="cleaning").status_code == 200
    assert len(db.exec(select(AuditEvent).where(AuditEvent.action == "bed_state")).all()) == 3


def test_a_bed_with_a_patient_cannot_be_closed_or_cleaned_but_can_be_reserved(db, api_as, ward, nurse_principal):
    nurse = api_as(factories.make_user(db, "nurse", wards=[ward]))
    bed = factories.beds_of(db, ward)[0]
    factories.make_stay(db, nurse_principal, ward, bed)
    r = _state(nurse, bed, state_code="closed", closure_reason_code="staffing")
    assert r.status_code == 409 and "has a patient in it" in r.json()["error"]["message"]
    assert _state(nurse, bed, state_code="cleaning").status_code == 409
    r = _state(nurse, bed, state_code="reserved", reserved_for="From AMU when B01 goes home", reserved_from="AMU")
    assert r.status_code == 200


def test_a_patient_arriving_opens_a_bed_awaiting_cleaning_or_reserved(db, api_as, ward, nurse_principal, now):
    flow = api_as(factories.make_user(db, "flow_coordinator"))
    beds = factories.beds_of(db, ward)
    _state(flow, beds[0], state_code="cleaning")
    _state(flow, beds[1], state_code="reserved", reserved_for="Expected from ED")
    db.expire_all()  # the beds changed in the server's session
    factories.make_stay(db, nurse_principal, ward, beds[0], admitted_at=now - timedelta(minutes=5))
    stay = factories.make_stay(db, nurse_principal, ward, None, admitted_at=now - timedelta(minutes=5))
    r = flow.post(f"/stays/{stay.id}/transfer", json={"ward_id": ward.id, "bed_id": beds[1].id, "version": 1})
    assert r.status_code == 200, r.text
    db.expire_all()
    assert [db.get(Bed, b.id).state_code for b in beds[:2]] == ["open", "open"]
    why = db.exec(select(AuditEvent.after).where(AuditEvent.action == "bed_state").order_by(AuditEvent.id)).all()
    assert [w.get("why") for w in why] == [None, None, "a patient arrived in the bed", "a patient arrived in the bed"]


def test_closed_beds_refuse_admissions(db, api_as, ward):
    manager = factories.make_user(db, "ward_manager", wards=[ward])
    client = api_as(manager)
    bed = factories.beds_of(db, ward)[0]
    _state(client, bed, state_code="closed", closure_reason_code="estates")
    patient = factories.make_patient(db, factories.principal(db, manager))
    r = client.post(
        "/stays",
        json={"patient": factories.identifiers(patient), "ward_id": ward.id, "bed_id": bed.id,
              "admitted_at": "2026-03-10T09:00:00+00:00"},
    )  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["message"] == "That bed is closed"


def test_time_empty_cleaning_closed_and_occupied(db, api_as, ward, nurse_principal, clock):
    flow = api_as(factories.make_user(db, "flow_coordinator"))
    bed = factories.beds_of(db, ward)[0]
    start = clock.now()
    bed.created_at = start - timedelta(days=30)
    stay = factories.make_stay(db, nurse_principal, ward, bed, admitted_at=start, now=start)
    clock.advance(hours=3)
    discharge(
        db, actor=nurse_principal, stay=stay, discharged_at=clock.now(), destination_code="19H", pathway=0,
        expected_version=stay.version, now=clock.now(),
    )  # fmt: skip
    db.flush()
    _state(flow, bed, state_code="cleaning")
    clock.advance(hours=1)
    _state(flow, bed, state_code="open")
    clock.advance(hours=2)
    _state(flow, bed, state_code="closed", closure_reason_code="staffing")
    clock.advance(minutes=30)
    day = start.date().isoformat()
    r = flow.get(f"/wards/{ward.id}/bed-times", params={"date_from": day, "date_to": day})
    assert r.status_code == 200, r.text
    times = next(b for b in r.json()["beds"] if b["bed_id"] == bed.id)
    # The bed was created before the test's day: open and empty until the patient came at 11:00.
    assert times["occupied_minutes"] == 180
    assert times["cleaning_minutes"] == 60
    assert times["closed_minutes"] == 30
    assert times["empty_minutes"] == 11 * 60 + 120
    periods = db.exec(select(BedStatePeriod).where(BedStatePeriod.bed_id == bed.id)).all()
    assert [p.state_code for p in periods] == ["cleaning", "open", "closed"]
    board = flow.get(f"/wards/{ward.id}/board").json()
    assert board["rows"][0]["empty_since"].startswith(stay.discharged_at.isoformat()[:16])
    history = flow.get(f"/beds/{bed.id}/states").json()
    assert [h["state_code"] for h in history] == ["closed", "open", "cleaning"]
    bad = flow.get(f"/wards/{ward.id}/bed-times", params={"date_from": day, "date_to": "2026-01-01"})
    assert bad.status_code == 422


def test_bed_states_are_ward_scoped(db, api_as, ward):
    other = factories.make_ward(db, beds=1)
    nurse = api_as(factories.make_user(db, "nurse", wards=[ward]))
    foreign = factories.beds_of(db, other)[0]
    r = nurse.put(f"/beds/{foreign.id}/state", json={"state_code": "cleaning", "version": 1})
    assert r.status_code == 404 and r.json()["error"]["message"] == "No such bed"
    assert nurse.get(f"/beds/{foreign.id}/states").status_code == 404
    doctor = api_as(factories.make_user(db, "doctor", wards=[ward]))
    own = factories.beds_of(db, ward)[0]
    assert doctor.put(f"/beds/{own.id}/state", json={"state_code": "cleaning", "version": 1}).status_code == 403


def test_beds_available_now_and_expected_to_free_today(db, api_as, ward, nurse_principal, now):
    from app.reviews.schemas import ReviewRequest
    from app.reviews.service import record_review
    from app.stays.service import set_edd

    other = factories.make_ward(db, beds=2)
    flow = api_as(factories.make_user(db, "flow_coordinator"))
    beds = factories.beds_of(db, ward)  # six
    going = factories.make_stay(db, nurse_principal, ward, beds[0])
    staying = factories.make_stay(db, nurse_principal, ward, beds[1])
    for stay, meets in ((going, False), (staying, True)):
        set_edd(db, actor=nurse_principal, stay=stay, new_date=now.date(), reason="", expected_version=stay.version,
                now=now)  # fmt: skip
        body = {"meets_criteria_to_reside": True, "day_status": "green"} if meets else {
            "meets_criteria_to_reside": False, "delay_reason_code": "HP04"}  # fmt: skip
        record_review(db, actor=nurse_principal, stay=stay, data=ReviewRequest(**body), now=now)
    db.flush()
    _state(flow, beds[1], state_code="reserved", reserved_for="From ED")  # occupied and reserved
    _state(flow, beds[2], state_code="cleaning")
    _state(flow, beds[3], state_code="closed", closure_reason_code="staffing")
    _state(flow, beds[4], state_code="reserved", reserved_for="From theatre")
    r = flow.get("/bed-availability")
    assert r.status_code == 200, r.text
    mine = next(w for w in r.json()["wards"] if w["ward_id"] == ward.id)
    assert {k: mine[k] for k in ("beds", "occupied", "available", "cleaning", "reserved", "closed",
                                 "expected_to_free_today")} == {
        "beds": 6, "occupied": 2, "available": 1, "cleaning": 1, "reserved": 2, "closed": 1,
        "expected_to_free_today": 1,
    }  # fmt: skip
    assert r.json()["total"]["beds"] >= 8
    # Ward staff see their own wards only.
    nurse = api_as(factories.make_user(db, "nurse", wards=[other]))
    assert [w["ward_id"] for w in nurse.get("/bed-availability").json()["wards"]] == [other.id]
