"""The transfer-of-care hub list: who is on it, its filters, and what a hub user can see."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.stays import referrals
from app.stays.hub import HubFilters, hub_rows
from app.stays.schemas import ReferralCreate, ReferralUpdate
from app.stays.service import discharge
from tests import factories


@pytest.fixture
def hospital(db, now):
    """Two wards: on the first, P1 (with a hub referral), P0 (with an open therapy referral),
    P0 (a decided referral: not on the list), P2 (discharged: not on the list); on the second, P3."""
    first, second = factories.make_ward(db, beds=6), factories.make_ward(db, beds=2)
    setup = factories.principal(db, factories.make_user(db, "flow_coordinator"))
    beds = factories.beds_of(db, first)

    def stay(ward, bed, pathway, name):  # noqa: ANN001, ANN202
        patient = factories.make_patient(db, setup, given_name=name, family_name=f"{name}son")
        return factories.make_stay(db, setup, ward, bed, patient=patient, pathway=pathway, now=now)

    p1 = stay(first, beds[0], 1, "Pathone")
    p0_open = stay(first, beds[1], 0, "Openref")
    p0_done = stay(first, beds[2], 0, "Doneref")
    gone = stay(first, beds[3], 2, "Gone")
    p3 = stay(second, factories.beds_of(db, second)[0], 3, "Carehome")
    sent = now - timedelta(hours=5)

    def refer(s, code):  # noqa: ANN001, ANN202
        return referrals.add_referral(
            db, actor=setup, stay=s, data=ReferralCreate(service_code=code, sent_at=sent), now=now
        )

    hub_ref = refer(p1, "care_transfer_hub")
    refer(p0_open, "therapy")
    done = refer(p0_done, "therapy")
    referrals.update_referral(
        db, actor=setup, stay=p0_done, referral=done, data=ReferralUpdate(decided_at=now, decision="Seen"),
        expected_version=done.version, now=now,
    )  # fmt: skip
    discharge(
        db, actor=setup, stay=gone, discharged_at=now, destination_code="19", pathway=2,
        expected_version=gone.version, now=now,
    )  # fmt: skip
    db.flush()
    return {"first": first, "second": second, "p1": p1, "p0_open": p0_open, "p3": p3, "p0_done": p0_done,
            "hub_ref": hub_ref}  # fmt: skip


def test_who_is_on_the_list_and_the_filters(db, hospital, now):
    setup = factories.principal(db, factories.make_user(db, "flow_coordinator"))
    rows = {r.stay_id: r for r in hub_rows(db, setup, now)}
    mine = {hospital[k].id for k in ("p1", "p0_open", "p3")}
    assert mine <= set(rows) and hospital["p0_done"].id not in rows
    p1 = rows[hospital["p1"].id]
    assert (p1.initials, p1.pathway, p1.ward) == ("PP", 1, hospital["first"].name)
    assert [(r.service_code, r.status, r.hours_since_sent, r.open) for r in p1.referrals] == [
        ("care_transfer_hub", "sent", 5.0, True)
    ]
    assert p1.milestones_total == 7 and p1.milestones_done == 0 and p1.next_action is not None
    by_service = {r.stay_id for r in hub_rows(db, setup, now, HubFilters(service="therapy"))}
    assert by_service & mine == {hospital["p0_open"].id}
    by_pathway = {r.stay_id for r in hub_rows(db, setup, now, HubFilters(pathway=3))}
    assert by_pathway & mine == {hospital["p3"].id}
    # A ward manager sees their own wards' patients only.
    manager = factories.principal(db, factories.make_user(db, "ward_manager", wards=[hospital["second"]]))
    assert {r.stay_id for r in hub_rows(db, manager, now)} == {hospital["p3"].id}


def test_a_hub_user_sees_the_list_and_nothing_else(db, hospital, browser_as, api_as):
    user = factories.make_user(db, "transfer_hub")
    api = api_as(user)
    listed = api.get("/hub")
    assert listed.status_code == 200
    body = listed.text
    p1 = hospital["p1"]
    patient = p1.patient_id
    from app.models import Patient

    record = db.get(Patient, patient)
    for secret in (record.family_name, record.given_name, record.mrn, record.nhs_number, str(record.date_of_birth)):
        assert secret not in body
    assert api.get("/hub", params={"pathway": 1}).status_code == 200
    assert api.get("/hub", params={"pathway": 0}).status_code == 422
    for path in (f"/stays/{p1.id}", f"/patients/{patient}", f"/stays/{p1.id}/referrals", f"/stays/{p1.id}/milestones",
                 f"/wards/{hospital['first'].id}/board", "/patients"):  # fmt: skip
        assert api.get(path).status_code == 403, path
    browser = browser_as(user)
    page = browser.get("/hub")
    assert page.status_code == 200 and "Transfer of care hub" in page.text
    assert record.family_name not in page.text and record.mrn not in page.text
    assert f'id="hub-referral-{hospital["hub_ref"].id}"' in page.text
    assert browser.get("/hub?service=therapy").status_code == 200
    for path in (f"/stays/{p1.id}", f"/wards/{hospital['first'].code}", "/", f"/stays/{p1.id}/plan"):
        assert browser.get(path).status_code == 403, path
    # A nurse has no hub.
    assert browser_as(factories.make_user(db, "nurse", wards=[hospital["first"]])).get("/hub").status_code == 403


def test_hub_staff_sign_in_to_the_hub_and_others_to_what_they_asked_for(db, live_server, password_hash):
    """Hub staff read no ward board: signing in with no page asked for lands on the hub, not on a
    ward list that would refuse them; a page asked for is still where anyone goes."""
    import httpx

    from tests import pages

    factories.make_user(db, "transfer_hub", username="hubstaff", password_hash=password_hash)
    factories.make_user(db, "nurse", username="nursenina", password_hash=password_hash)
    with httpx.Client(base_url=live_server, follow_redirects=False, timeout=10) as client:
        r = pages.sign_in(client, "hubstaff")
        assert r.status_code == 303 and r.headers["location"] == "/hub"
        assert client.get("/hub").status_code == 200
    with httpx.Client(base_url=live_server, follow_redirects=False, timeout=10) as client:
        r = pages.sign_in(client, "hubstaff", next_="/alerts")
        assert r.headers["location"] == "/alerts"
    with httpx.Client(base_url=live_server, follow_redirects=False, timeout=10) as client:
        assert pages.sign_in(client, "nursenina").headers["location"] == "/"
