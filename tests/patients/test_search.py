"""Patient search over the API: identifiers in a POST body, never in a URL."""

from __future__ import annotations

import pytest

from tests import factories
from tests.pages import csrf_from, sign_in


@pytest.fixture
def patient(db, ward, nurse_principal):
    stay = factories.make_stay(db, nurse_principal, ward, None)
    return db.get(factories.Patient, stay.patient_id)


def test_search_by_nhs_number_or_hospital_number(db, api, patient):
    spaced = f"{patient.nhs_number[:3]} {patient.nhs_number[3:6]} {patient.nhs_number[6:]}"
    for body in (
        {"nhs_number": spaced},
        {"mrn": f" {patient.mrn} "},
        {"nhs_number": patient.nhs_number, "mrn": patient.mrn},
    ):
        r = api.post("/patients/search", json=body)
        assert r.status_code == 200, (body, r.text)
        assert [p["id"] for p in r.json()] == [patient.id]
    # Both given: both must match.
    assert api.post("/patients/search", json={"nhs_number": patient.nhs_number, "mrn": "OTHER"}).json() == []
    # A search changes nothing, and its answer is not kept by caches.
    assert "no-store" in r.headers["cache-control"]


def test_search_keeps_ward_scope(db, api, api_as):
    flow_user = factories.make_user(db, "flow_coordinator")
    flow_actor = factories.principal(db, flow_user)
    other = db.get(factories.Patient, factories.make_stay(db, flow_actor, factories.make_ward(db), None).patient_id)
    assert api.post("/patients/search", json={"nhs_number": other.nhs_number}).json() == []
    flow = api_as(flow_user)
    assert [p["id"] for p in flow.post("/patients/search", json={"mrn": other.mrn}).json()] == [other.id]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "nhs_number", "Give nhs_number or mrn"),
        ({"nhs_number": "", "mrn": None}, "nhs_number", "Give nhs_number or mrn"),
        ({"nhs_number": "9434765918"}, "nhs_number", "check digit"),
        ({"mrn": "K" * 21}, "mrn", "at most 20"),
        ({"nhs": "9434765919"}, "nhs", "Extra inputs"),
    ],
)
def test_bad_searches_are_422_with_the_field(db, api, body, field, message):
    r = api.post("/patients/search", json=body)
    assert r.status_code == 422
    fields = {f["field"]: f["message"] for f in r.json()["error"]["fields"]}
    assert message in fields[field]
    assert "9434765918" not in r.text  # the answer does not repeat the number


@pytest.mark.parametrize("params", [{"nhs_number": "9434765919"}, {"mrn": "K1"}, {}])
def test_the_old_search_by_url_points_at_the_post(db, api, patient, params):
    r = api.get("/patients", params=params)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "identifiers_in_url" and "POST /api/v1/patients/search" in error["message"]
    assert [f["field"] for f in error["fields"]] == list(params)


def test_a_browser_session_searches_with_its_csrf_token(db, live_server, nurse, password_hash, patient):
    import httpx

    nurse.password_hash = password_hash
    db.flush()
    with httpx.Client(base_url=live_server) as browser:
        sign_in(browser, nurse.username)
        assert browser.post("/api/v1/patients/search", json={"mrn": patient.mrn}).status_code == 403
        token = csrf_from(browser.get("/?choose=1").text)
        r = browser.post("/api/v1/patients/search", json={"mrn": patient.mrn}, headers={"X-CSRF-Token": token})
        assert r.status_code == 200 and r.json()[0]["id"] == patient.id
