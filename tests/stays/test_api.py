from __future__ import annotations

from datetime import timedelta

from tests import factories


def test_admit_new_patient_over_http(db, api, ward, now):
    bed = factories.beds_of(db, ward)[0]
    body = {
        "patient": {
            "nhs_number": "943 476 5919",
            "mrn": "K123456",
            "given_name": "Jo",
            "family_name": "Bloggs",
            "date_of_birth": "1950-01-02",
            "sex": "female",
        },
        "ward_id": ward.id,
        "bed_id": bed.id,
        "admitted_at": (now - timedelta(hours=30)).isoformat(),
        "expected_discharge_date": "2026-03-12",
    }
    r = api.post("/stays", json=body)
    assert r.status_code == 201, r.text
    data = r.json()
    assert data["patient"]["nhs_number"] == "9434765919"
    assert data["stay"]["bed_id"] == bed.id
    assert data["length_of_stay_midnights"] == 1
    assert [e["new_date"] for e in data["edd_history"]] == ["2026-03-12"]
    assert r.headers["etag"] == f'"{data["stay"]["version"]}"'
