"""Two tablets editing the same stay: the later write based on a stale read gets 409."""

from __future__ import annotations

from datetime import timedelta

from tests import factories


def test_stale_write_gets_409_with_current_state_and_who_changed_it(db, api_as, ward, nurse, nurse_principal, now):
    stay = factories.make_stay(db, nurse_principal, ward, None)
    doctor = factories.make_user(db, "doctor", wards=[ward], display_name="Dr Dee")
    tablet_a, tablet_b = api_as(nurse), api_as(doctor)
    etag_a = tablet_a.get(f"/stays/{stay.id}").headers["etag"]
    etag_b = tablet_b.get(f"/stays/{stay.id}").headers["etag"]
    assert etag_a == etag_b

    r = tablet_b.put(
        f"/stays/{stay.id}/edd", json={"expected_discharge_date": "2026-03-13"}, headers={"If-Match": etag_b}
    )
    assert r.status_code == 200, r.text

    r = tablet_a.patch(
        f"/stays/{stay.id}", json={"clinical_criteria_for_discharge": "Off oxygen"}, headers={"If-Match": etag_a}
    )
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "stale_version"
    assert error["detail"]["current"]["expected_discharge_date"] == "2026-03-13"
    assert error["detail"]["changed_by"]["name"] == "Dr Dee"
    assert "Dr Dee" in error["message"]
    # Nothing was overwritten; reapplying with the fresh version works.
    fresh = tablet_a.get(f"/stays/{stay.id}")
    assert fresh.json()["stay"]["clinical_criteria_for_discharge"] == ""
    r = tablet_a.patch(
        f"/stays/{stay.id}",
        json={"clinical_criteria_for_discharge": "Off oxygen"},
        headers={"If-Match": fresh.headers["etag"]},
    )
    assert r.status_code == 200
    assert r.json()["stay"]["expected_discharge_date"] == "2026-03-13"


def test_version_in_body_works_like_if_match(db, api, ward, nurse_principal):
    stay = factories.make_stay(db, nurse_principal, ward, None)
    r = api.patch(f"/stays/{stay.id}", json={"pathway": 1, "version": stay.version + 5})
    assert r.status_code == 409
    r = api.patch(f"/stays/{stay.id}", json={"pathway": 1, "version": stay.version})
    assert r.status_code == 200


def test_writes_without_a_version_are_refused(db, api, ward, nurse_principal):
    stay = factories.make_stay(db, nurse_principal, ward, None)
    r = api.patch(f"/stays/{stay.id}", json={"pathway": 1})
    assert r.status_code == 428
    assert r.json()["error"]["fields"][0]["field"] == "version"


def test_two_admissions_to_the_same_bed(db, api_as, ward, nurse, now):
    bed = factories.beds_of(db, ward)[0]
    actor = factories.principal(db, nurse)
    patients = [factories.make_patient(db, actor) for _ in range(2)]
    tablet = api_as(nurse)
    body = {"ward_id": ward.id, "bed_id": bed.id, "admitted_at": (now - timedelta(hours=1)).isoformat()}
    # Ward staff admit by the identifiers they hold (docs/adr/0007).
    assert tablet.post("/stays", json=body | {"patient": factories.identifiers(patients[0])}).status_code == 201
    r = tablet.post("/stays", json=body | {"patient": factories.identifiers(patients[1])})
    assert r.status_code == 409
    assert r.json()["error"]["fields"] == [{"field": "bed_id", "message": "That bed already has a patient in it"}]
