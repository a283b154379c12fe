"""Admitting a patient from elsewhere in the hospital without learning anything about them.

The Hardening issue, item 1: a nurse of one ward could POST /stays with any patient_id and get
back that patient's NHS number, name and date of birth (or, for a patient in hospital on another
ward, a 409 naming that stay). Ward staff now admit by id only a patient they can already see,
and otherwise by the identifiers they hold (docs/adr/0007).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from app.models import AuditEvent, Patient, Stay
from app.patients.service import DETAILS_DIFFER
from app.stays.service import ALREADY_IN_ELSEWHERE
from tests import factories

MISSING = 2**31 - 1


@pytest.fixture
def elsewhere(db, now):
    """Another ward, with a patient who has gone home from it and one still in it."""
    ward = factories.make_ward(db, beds=2, code="W21")
    ward.name = "Wexford Ward"
    flow = factories.principal(db, factories.make_user(db, "flow_coordinator"))
    gone = factories.make_stay(db, flow, ward, None, admitted_at=now - timedelta(days=9))
    from app.stays.service import discharge

    discharge(
        db, actor=flow, stay=gone, discharged_at=now - timedelta(days=5), destination_code="19", pathway=0,
        expected_version=gone.version, now=now - timedelta(days=5),
    )  # fmt: skip
    current = factories.make_stay(db, flow, ward, None)
    return ward, db.get(Patient, gone.patient_id), current, flow


def _body(ward, **patient) -> dict:  # noqa: ANN001
    return {"ward_id": ward.id, "admitted_at": "2026-03-10T10:00:00+00:00"} | patient


def _counts(db) -> tuple[int, int, int]:  # noqa: ANN001
    db.expire_all()
    return tuple(db.exec(select(func.count()).select_from(t)).one() for t in (Stay, Patient, AuditEvent))  # type: ignore[return-value]


def _shows(r, patient: Patient) -> bool:  # noqa: ANN001
    return any(v in r.text for v in (patient.nhs_number, patient.mrn, patient.family_name, patient.given_name))


def test_a_patient_id_from_another_ward_is_not_found_like_a_missing_one(db, api, ward, elsewhere):
    other_ward, gone, current, _ = elsewhere
    inpatient = db.get(Patient, current.patient_id)
    before = _counts(db)
    missing = api.post("/stays", json=_body(ward, patient_id=MISSING))
    assert missing.status_code == 404
    for patient in (gone, inpatient):
        r = api.post("/stays", json=_body(ward, patient_id=patient.id))
        assert (r.status_code, r.json()) == (404, missing.json())
        assert not _shows(r, patient)
    assert _counts(db) == before


def test_a_patient_you_can_see_who_is_now_on_another_ward_is_in_hospital_elsewhere(db, api, ward, nurse_principal, now):
    other_ward = factories.make_ward(db, beds=1, code="W21")
    other_ward.name = "Wexford Ward"
    flow = factories.principal(db, factories.make_user(db, "flow_coordinator"))
    old = factories.make_stay(db, nurse_principal, ward, None, admitted_at=now - timedelta(days=20))
    from app.stays.service import discharge

    discharge(
        db, actor=nurse_principal, stay=old, discharged_at=now - timedelta(days=15), destination_code="19",
        pathway=0, expected_version=old.version, now=now - timedelta(days=15),
    )  # fmt: skip
    there = factories.make_stay(db, flow, other_ward, None, patient=db.get(Patient, old.patient_id))
    r = api.post("/stays", json=_body(ward, patient_id=old.patient_id))
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["message"] == ALREADY_IN_ELSEWHERE and "detail" not in error
    assert error["fields"] == [{"field": "patient_id", "message": ALREADY_IN_ELSEWHERE}]
    assert str(there.id) not in r.text and "W21" not in r.text and "Wexford" not in r.text


def test_ward_staff_admit_a_patient_from_elsewhere_by_their_identifiers(db, api, ward, elsewhere):
    _, gone, _, _ = elsewhere
    sent = factories.identifiers(gone)
    patients_before = _counts(db)[1]
    r = api.post("/stays", json=_body(ward, patient=sent))
    assert r.status_code == 201, r.text
    shown = r.json()["patient"]
    assert shown["id"] == gone.id  # the hospital's record, not a duplicate
    assert {k: shown[k] for k in sent} == sent  # nothing the nurse did not send
    assert _counts(db)[1] == patients_before
    # From now on the patient is on the nurse's ward, and readable by id.
    assert api.get(f"/patients/{gone.id}").status_code == 200


def test_details_that_do_not_match_the_record_are_refused_without_saying_what_differs(db, api, ward, elsewhere):
    _, gone, _, _ = elsewhere
    before = _counts(db)
    for wrong in ({"date_of_birth": "1941-05-17"}, {"family_name": "Someone"}, {"nhs_number": None}):
        r = api.post("/stays", json=_body(ward, patient=factories.identifiers(gone) | wrong))
        assert r.status_code == 409, (wrong, r.text)
        error = r.json()["error"]
        assert error["message"] == DETAILS_DIFFER and "detail" not in error
        assert error["fields"] == [{"field": "patient", "message": DETAILS_DIFFER}]
        assert str(gone.date_of_birth) not in r.text and gone.family_name not in r.text
    assert _counts(db) == before


def test_a_patient_in_hospital_on_another_ward_is_not_admitted_twice(db, api, ward, elsewhere):
    other_ward, _, current, _ = elsewhere
    inpatient = db.get(Patient, current.patient_id)
    before = _counts(db)
    r = api.post("/stays", json=_body(ward, patient=factories.identifiers(inpatient)))
    assert r.status_code == 409
    assert r.json()["error"]["message"] == ALREADY_IN_ELSEWHERE and "detail" not in r.json()["error"]
    assert str(current.id) not in r.text and other_ward.code not in r.text and other_ward.name not in r.text
    assert _counts(db) == before


def test_a_patient_the_hospital_has_never_seen_is_registered_and_admitted(db, api, ward):
    sent = {
        "nhs_number": factories.test_nhs_number(5151),
        "mrn": "K515151",
        "given_name": "Jo",
        "family_name": "Bloggs",
        "date_of_birth": "1950-01-02",
        "sex": "female",
    }
    r = api.post("/stays", json=_body(ward, patient=sent))
    assert r.status_code == 201 and {k: r.json()["patient"][k] for k in sent} == sent


def test_site_wide_roles_and_the_pas_still_admit_by_id(db, api_as, ward, elsewhere):
    _, gone, current, _ = elsewhere
    flow = api_as(factories.make_user(db, "flow_coordinator"))
    r = flow.post("/stays", json=_body(ward, patient_id=current.patient_id))
    assert r.status_code == 409 and r.json()["error"]["detail"] == {"stay_id": current.id}
    pas = api_as(factories.make_user(db, "integration", is_service_account=True))
    assert pas.post("/stays", json=_body(ward, patient_id=gone.id)).status_code == 201


def test_registering_a_patient_who_exists_elsewhere_does_not_name_them(db, api, api_as, ward, elsewhere):
    _, gone, _, _ = elsewhere
    sent = factories.identifiers(gone) | {"mrn": "K000999"}
    r = api.post("/patients", json=sent)
    assert r.status_code == 409 and "detail" not in r.json()["error"]
    assert r.json()["error"]["fields"][0]["field"] == "nhs_number"
    assert str(gone.id) not in r.json()["error"]["message"]
    # Nor does taking their NHS number for a patient of one's own.
    colleague = factories.principal(db, factories.make_user(db, "nurse", wards=[ward]))
    mine = db.get(Patient, factories.make_stay(db, colleague, ward, None).patient_id)
    r = api.patch(f"/patients/{mine.id}", json={"nhs_number": gone.nhs_number, "version": mine.version})
    assert r.status_code == 409 and "detail" not in r.json()["error"]
    # The flow team is told which patient it is.
    flow = api_as(factories.make_user(db, "flow_coordinator"))
    assert flow.post("/patients", json=sent).json()["error"]["detail"] == {"patient_id": gone.id}
