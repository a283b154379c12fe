"""The audit viewer's patient filter: typed identifiers are posted, never put in a URL."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from app.audit import service as audit
from app.audit.queries import PAGE_SIZE
from app.models import AuditEvent
from app.patients.nhs_number import display
from tests import factories


@pytest.fixture
def manager(db, ward):
    return factories.make_user(db, "ward_manager", wards=[ward])


@pytest.fixture
def patient(db, ward, nurse_principal):
    stay = factories.make_stay(db, nurse_principal, ward, None)
    return db.get(factories.Patient, stay.patient_id)


def _filter(browser, **fields):  # noqa: ANN001, ANN003, ANN202
    browser.get("/audit")  # the form's CSRF token
    return browser.post("/audit", {"user": "", "ward": "", "date_from": "", "date_to": ""} | fields)


def test_the_filter_form_posts_with_a_csrf_token(db, browser_as, manager):
    page = browser_as(manager).get("/audit").text
    form = re.search(r'<form action="/audit" method="(\w+)"[^>]*id="audit-filters">(.*?)</form>', page, re.S)
    assert form and form.group(1) == "post"
    assert 'name="csrf_token"' in form.group(2)


@pytest.mark.parametrize("typed", ["nhs", "nhs spaced", "mrn lower case"])
def test_a_typed_identifier_becomes_the_patients_id_in_the_address(db, browser_as, manager, patient, typed):
    browser = browser_as(manager)
    text = {
        "nhs": patient.nhs_number,
        "nhs spaced": display(patient.nhs_number),
        "mrn lower case": patient.mrn.lower(),
    }[typed]
    r = _filter(browser, patient=text, date_from="2026-03-10")
    assert r.status_code == 303
    location = r.headers["location"]
    assert patient.nhs_number not in location and patient.mrn.lower() not in location.lower()
    assert parse_qs(urlsplit(location).query) == {"patient_id": [str(patient.id)], "date_from": ["2026-03-10"]}
    page = browser.get(location)
    assert page.status_code == 200
    assert patient.family_name.upper() in page.text
    # The box shows whom the page is filtered by, as a number a user would type.
    assert f'value="{display(patient.nhs_number)}"' in page.text


def test_nobody_matching_answers_the_page_with_what_was_typed(db, browser_as, manager, patient):
    r = _filter(browser_as(manager), patient="K-NOBODY-1", user="")
    assert r.status_code == 200
    assert "No patient matches that" in r.text and 'value="K-NOBODY-1"' in r.text
    assert 'id="audit-empty"' in r.text


def test_too_long_is_a_field_error(db, browser_as, manager):
    r = _filter(browser_as(manager), patient="9" * 21)
    assert r.status_code == 422 and "20 characters or fewer" in r.text


def test_another_wards_patient_cannot_be_named_by_identifier_or_id(db, browser_as, manager):
    other_ward = factories.make_ward(db, beds=1)
    flow = factories.principal(db, factories.make_user(db, "flow_coordinator"))
    outsider = db.get(factories.Patient, factories.make_stay(db, flow, other_ward, None).patient_id)
    browser = browser_as(manager)
    r = _filter(browser, patient=outsider.nhs_number)
    assert r.status_code == 200 and "No patient matches that" in r.text
    page = browser.get("/audit", params={"patient_id": outsider.id})
    assert page.status_code == 200 and "No patient matches that" in page.text
    assert display(outsider.nhs_number) not in page.text and outsider.mrn not in page.text
    # An administrator sees every ward, so may name anyone.
    admin = browser_as(factories.make_user(db, "admin"))
    assert _filter(admin, patient=outsider.mrn).headers["location"] == f"/audit?patient_id={outsider.id}"


def test_an_old_address_with_an_identifier_is_not_looked_up(db, browser_as, manager, patient):
    page = browser_as(manager).get("/audit", params={"patient": patient.nhs_number})
    assert page.status_code == 422
    assert "Enter the NHS number or hospital number in the Patient box" in page.text
    assert f'value="{patient.nhs_number}"' not in page.text


def test_older_events_link_pages_by_id_without_identifiers(db, browser_as, manager, patient, ward, now):
    for n in range(PAGE_SIZE + 5):
        audit.record(
            db,
            actor=None,
            action="note",
            entity_type="test",
            entity_id=n,
            at=now,
            ward_id=ward.id,
            patient_id=patient.id,
        )
    db.flush()
    browser = browser_as(manager)
    first = browser.get(_filter(browser, patient=patient.mrn).headers["location"])
    link = re.search(r'href="(/audit\?[^"]+)">Older events', first.text)
    assert link, "no Older events link"
    href = link.group(1).replace("&amp;", "&")
    query = parse_qs(urlsplit(href).query)
    assert query["patient_id"] == [str(patient.id)] and "before" in query and "patient" not in query
    older = browser.get(href)
    assert older.status_code == 200
    shown = set(re.findall(r'id="audit-event-(\d+)"', first.text)) | set(
        re.findall(r'id="audit-event-(\d+)"', older.text)
    )
    on_ward = db.exec(
        select(AuditEvent.id).where(AuditEvent.patient_id == patient.id, AuditEvent.ward_id == ward.id)
    ).all()
    assert shown == {str(i) for i in on_ward} and len(shown) > PAGE_SIZE


def test_the_filter_post_needs_the_csrf_token(db, browser_as, manager, patient):
    browser = browser_as(manager)
    r = browser.client.post("/audit", data={"patient": patient.nhs_number})
    assert r.status_code == 403 and "Form expired" in r.text
