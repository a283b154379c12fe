"""Day one from the tablet (HTML forms over real HTTP): admit to an empty bed, move, discharge,
correct, bed states, the ward list upload, and setting up the hospital in the admin pages."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from sqlmodel import col, func, select

from app.models import AuditEvent, Bed, BedStatePeriod, Patient, Site, Stay, Ward
from tests import factories
from tests.stays.test_ward_list import csv_of, person


def events(db, action: str) -> int:  # noqa: ANN001
    return db.exec(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)).one()


def version_in(html: str) -> str:
    match = re.search(r'name="version" value="(\d+)"', html)
    assert match, "no version field"
    return match.group(1)


@pytest.fixture
def manager(db, ward):
    return factories.make_user(db, "ward_manager", wards=[ward])


def wristband(n: int) -> dict:
    nhs = factories.test_nhs_number(7000 + n * 11)
    return {
        "nhs_number": nhs,
        "mrn": f"DO{n:05d}",
        "given_name": "Grace",
        "family_name": f"Hopper{n}",
        "date_of_birth": "1938-12-09",
        "sex": "female",
        "admitted_date": "2026-03-10",
        "admitted_time": "09:15",
    }


# Admit ---------------------------------------------------------------------------------------


def test_admit_from_the_board_to_an_empty_bed(db, browser_as, ward, nurse):
    bed = factories.beds_of(db, ward)[0]
    browser = browser_as(nurse)
    board = browser.get(f"/wards/{ward.code}")
    assert f"/beds/{bed.id}/state" in board.text
    assert f"/beds/{bed.id}/admit" in browser.get(f"/beds/{bed.id}/state").text
    page = browser.get(f"/beds/{bed.id}/admit")
    assert page.status_code == 200 and "Admit to bed" in page.text
    before = events(db, "admit")
    r = browser.post(f"/beds/{bed.id}/admit", wristband(1))
    assert r.status_code == 303 and r.headers["location"] == f"/wards/{ward.code}", r.text[:500]
    stay = db.exec(select(Stay).where(Stay.bed_id == bed.id, col(Stay.discharged_at).is_(None))).one()
    assert db.get(Patient, stay.patient_id).family_name == "Hopper1"
    assert events(db, "admit") == before + 1
    board = browser.get(f"/wards/{ward.code}")
    assert "HOPPER1, Grace" in board.text
    assert f"/stays/{stay.id}/move" in browser.get(f"/beds/{bed.id}/state").text


def test_admit_refusals_keep_what_was_typed(db, browser_as, ward, nurse):
    beds = factories.beds_of(db, ward)
    browser = browser_as(nurse)
    typed = wristband(2) | {"nhs_number": "943 476 5918"}  # wrong check digit
    r = browser.post(f"/beds/{beds[0].id}/admit", typed)
    assert r.status_code == 422
    assert "check digit does not match" in r.text and 'value="Hopper2"' in r.text
    # Admitted once; the same patient again into another bed is refused (already in hospital).
    assert browser.post(f"/beds/{beds[0].id}/admit", wristband(2)).status_code == 303
    r = browser.post(f"/beds/{beds[1].id}/admit", wristband(2))
    assert r.status_code == 409 and "already in hospital" in r.text
    # The same NHS number with other details: the hospital's record is not shown, nor which field differs.
    r = browser.post(f"/beds/{beds[1].id}/admit", wristband(2) | {"family_name": "Someone"})
    assert r.status_code == 409 and "do not match the hospital" in r.text
    # An occupied bed.
    r = browser.post(f"/beds/{beds[0].id}/admit", wristband(3))
    assert r.status_code == 409 and "already has a patient" in r.text


def test_find_fills_in_a_known_patient(db, browser_as, ward, nurse, nurse_principal, now):
    beds = factories.beds_of(db, ward)
    known = factories.make_stay(db, nurse_principal, ward, beds[0], admitted_at=now - timedelta(days=20))
    stays_discharge(db, nurse_principal, known, now - timedelta(days=10))
    patient = db.get(Patient, known.patient_id)
    browser = browser_as(nurse)
    r = browser.post(f"/beds/{beds[1].id}/admit", {"find": "1", "nhs_number": patient.nhs_number, "mrn": ""})
    assert r.status_code == 200 and "Patient found" in r.text and f'value="{patient.family_name}"' in r.text
    r = browser.post(f"/beds/{beds[1].id}/admit", {"find": "1", "nhs_number": "", "mrn": "NOBODY1"})
    assert "No patient with this number" in r.text


def stays_discharge(db, actor, stay, at):  # noqa: ANN001
    from app.stays.service import discharge

    discharge(
        db, actor=actor, stay=stay, discharged_at=at, destination_code="19", pathway=0,
        expected_version=stay.version, now=at,
    )  # fmt: skip


# Move, discharge, correct ----------------------------------------------------------------------


def test_move_to_another_ward_then_discharge_then_correct(db, browser_as, ward, nurse_principal, now):
    other = factories.make_ward(db, beds=2)
    manager = factories.make_user(db, "ward_manager", wards=[ward, other])
    stay = factories.make_stay(db, nurse_principal, ward, factories.beds_of(db, ward)[0])
    target = factories.beds_of(db, other)[1]
    browser = browser_as(manager)
    page = browser.get(f"/stays/{stay.id}/move")
    assert f'value="{other.id}-{target.id}"' in page.text
    stale = str(int(version_in(page.text)) + 1)
    r = browser.post(f"/stays/{stay.id}/move", {"place": f"{other.id}-{target.id}", "version": stale})
    assert r.status_code == 409 and "Someone else changed" in r.text
    r = browser.post(f"/stays/{stay.id}/move", {"place": f"{other.id}-{target.id}", "version": version_in(page.text)})
    assert r.status_code == 303, r.text[:500]
    db.refresh(stay)
    assert (stay.ward_id, stay.bed_id) == (other.id, target.id)

    page = browser.get(f"/stays/{stay.id}/discharge")
    assert "Patient died" in page.text
    r = browser.post(
        f"/stays/{stay.id}/discharge",
        {
            "discharged_date": "2026-03-10",
            "discharged_time": "10:30",
            "destination_code": "",
            "version": version_in(page.text),
        },
    )
    assert r.status_code == 422 and "Choose where the patient went" in r.text
    r = browser.post(
        f"/stays/{stay.id}/discharge",
        {"discharged_date": "2026-03-10", "discharged_time": "11:00", "destination_code": "19H", "pathway": "0",
         "version": version_in(page.text)},
    )  # fmt: skip
    assert r.status_code == 303, r.text[:500]
    db.refresh(stay)
    assert stay.discharged_at is not None and stay.discharge_destination_code == "19H"

    listed = browser.get(f"/wards/{other.code}/discharged")
    assert f"/stays/{stay.id}/correct" in listed.text
    page = browser.get(f"/stays/{stay.id}/correct")
    assert 'value="11:00"' in page.text
    form = {
        "admitted_date": "2026-03-07", "admitted_time": "08:00", "discharged_date": "2026-03-10",
        "discharged_time": "11:00", "destination_code": "19H", "pathway": "1", "version": version_in(page.text),
    }  # fmt: skip
    r = browser.post(f"/stays/{stay.id}/correct", form)
    assert r.status_code == 422 and 'id="reason"' in r.text
    before = events(db, "correct")
    r = browser.post(f"/stays/{stay.id}/correct", form | {"reason": "Pathway 1, not 0: typed wrongly"})
    assert r.status_code == 303, r.text[:500]
    assert events(db, "correct") == before + 1


def test_a_nurse_cannot_correct_and_other_wards_are_not_found(db, browser_as, ward, nurse, nurse_principal):
    stay = factories.make_stay(db, nurse_principal, ward, factories.beds_of(db, ward)[0])
    outsider = factories.make_user(db, "nurse", wards=[factories.make_ward(db, beds=1)])
    browser = browser_as(outsider)
    for url in (f"/stays/{stay.id}/move", f"/stays/{stay.id}/discharge", f"/beds/{stay.bed_id}/state"):
        assert browser.get(url).status_code == 404, url
    assert browser_as(nurse).get(f"/stays/{stay.id}/correct").status_code == 403


# Bed states ------------------------------------------------------------------------------------


def test_bed_state_from_the_board(db, browser_as, ward, nurse):
    bed = factories.beds_of(db, ward)[2]
    browser = browser_as(nurse)
    page = browser.get(f"/beds/{bed.id}/state")
    r = browser.post(f"/beds/{bed.id}/state", {"state_code": "reserved", "version": version_in(page.text)})
    assert r.status_code == 422 and "Say who the bed is reserved for" in r.text
    r = browser.post(
        f"/beds/{bed.id}/state",
        {"state_code": "reserved", "reserved_for": "ED cubicle 4", "reserved_from": "ED", "closure_reason_code": "",
         "version": version_in(page.text)},
    )  # fmt: skip
    assert r.status_code == 303, r.text[:500]
    board = browser.get(f"/wards/{ward.code}")
    assert 'title="Reserved for ED cubicle 4 from ED">Reserved<' in board.text
    assert "<strong>1</strong> reserved" in board.text
    display = browser.get(f"/wards/{ward.code}/display")
    assert ">Reserved<" in display.text and "/state" not in display.text
    db.refresh(bed)
    assert bed.state_code == "reserved"
    period = db.exec(
        select(BedStatePeriod).where(BedStatePeriod.bed_id == bed.id, col(BedStatePeriod.ended_at).is_(None))
    ).one()
    assert (period.reserved_for, period.reserved_from) == ("ED cubicle 4", "ED")
    assert events(db, "bed_state") >= 1
    # The site flow overview counts it.
    flow = browser_as(factories.make_user(db, "flow_coordinator")).get("/flow")
    row = re.search(rf'id="beds-ward-{ward.id}">(.*?)</tr>', flow.text, re.S)
    assert row, flow.text[:300]
    numbers = re.findall(r"numeric\">(\d+)<", row.group(1))
    assert numbers == ["6", "0", "5", "0", "1", "0", "0"]  # beds, occupied, free, cleaning, reserved, closed, to free


# Ward list ------------------------------------------------------------------------------------


def upload(browser, ward, body: bytes, **fields):  # noqa: ANN001
    files = {"file": ("amu.csv", body, "text/csv")}
    return browser.client.post(
        f"/wards/{ward.code}/ward-list", files=files, data={"csrf_token": browser.token, **fields}
    )


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} field"
    return match.group(1)


def test_ward_list_upload_preview_apply_twice(db, browser_as, ward, manager, nurse_principal):
    beds = factories.beds_of(db, ward)
    browser = browser_as(manager)
    assert "Import ward list" in browser.get(f"/wards/{ward.code}").text
    browser.get(f"/wards/{ward.code}/ward-list")
    bad = ("B03", "943 476 5918", "WL9999", "Bad", "Digit", "01/02/1945", "F", "09/03/2026 08:30", "Dr X")
    body = b"\xef\xbb\xbf" + csv_of(person(1, "B01"), person(2, "B02"), bad, sep=";")
    r = upload(browser, ward, body)
    assert r.status_code == 200, r.text[:500]
    assert r.text.count(">Admit</strong>") == 2 and ">Refused</strong>" in r.text
    assert "check digit" in r.text
    assert db.exec(select(func.count()).select_from(Stay).where(Stay.ward_id == ward.id)).one() == 0
    r = browser.post(
        f"/wards/{ward.code}/ward-list/apply", {"content": hidden(r.text, "content"), "plan": hidden(r.text, "plan")}
    )
    assert r.status_code == 200 and "has been applied" in r.text, r.text[:500]
    assert db.exec(select(func.count()).select_from(Stay).where(Stay.ward_id == ward.id)).one() == 2
    # The same file again changes nothing.
    r = upload(browser, ward, body)
    assert r.text.count(">No change</strong>") == 2
    # Patient 2 moved to B04, patient 1 is not on the list any more: discharged only when confirmed.
    moved = b"\xef\xbb\xbf" + csv_of(person(2, "B04"), sep=";")
    r = upload(browser, ward, moved)
    assert ">Move</strong>" in r.text and ">Not on the list</strong>" in r.text
    r = browser.post(
        f"/wards/{ward.code}/ward-list",
        {"content": hidden(r.text, "content"), "discharge_missing": "yes"},
    )
    assert ">Discharge</strong>" in r.text
    r = browser.post(
        f"/wards/{ward.code}/ward-list/apply",
        {"content": hidden(r.text, "content"), "plan": hidden(r.text, "plan"), "discharge_missing": "yes"},
    )
    assert r.status_code == 200 and "has been applied" in r.text
    current = db.exec(select(Stay).where(Stay.ward_id == ward.id, col(Stay.discharged_at).is_(None))).all()
    assert [s.bed_id for s in current] == [beds[3].id]


def test_ward_list_apply_refuses_a_stale_plan_and_a_missing_file(db, browser_as, ward, manager):
    browser = browser_as(manager)
    browser.get(f"/wards/{ward.code}/ward-list")
    r = upload(browser, ward, b"")
    assert r.status_code == 422 and "Choose the ward list file" in r.text
    r = upload(browser, ward, csv_of(person(5, "B01")))
    content = hidden(r.text, "content")
    r = browser.post(f"/wards/{ward.code}/ward-list/apply", {"content": content, "plan": "0" * 64})
    assert r.status_code == 409 and "changed since the preview" in r.text
    assert db.exec(select(func.count()).select_from(Stay).where(Stay.ward_id == ward.id)).one() == 0


# Setting up the hospital ----------------------------------------------------------------------


def test_admin_sets_up_a_hospital_from_nothing(db, browser_as):
    admin = factories.make_user(db, "admin")
    sponsor = factories.make_user(db, "executive_sponsor", display_name="Sam Sponsor")
    browser = browser_as(admin)
    assert "Set-up" in browser.get("/admin/hospital").text
    r = browser.post("/admin/sites", {"site_code": "", "site_name": "General"})
    assert r.status_code == 422
    r = browser.post("/admin/sites", {"site_code": "RX1NEW", "site_name": "New General"})
    assert r.status_code == 303
    site = db.exec(select(Site).where(Site.code == "RX1NEW")).one()
    ward_form = {"site_id": str(site.id), "code": "NEWAMU", "name": "New AMU", "specialty": "Acute medicine",
                 "executive_sponsor_id": str(sponsor.id)}  # fmt: skip
    r = browser.post("/admin/wards", ward_form)
    assert r.status_code == 303, r.text[:500]
    ward = db.exec(select(Ward).where(Ward.code == "NEWAMU")).one()
    assert ward.executive_sponsor_id == sponsor.id
    assert browser.post("/admin/wards", ward_form).status_code == 409
    for n, label in enumerate(["A1", "A2", "A3"]):
        r = browser.post(f"/admin/wards/{ward.id}/beds", {"bed_label": label, "bed_sort_order": str(n * 10)})
        assert r.status_code == 200 and f"Bed {label} added" in r.text
    r = browser.post(f"/admin/wards/{ward.id}/beds", {"bed_label": "A1", "bed_sort_order": "5"})
    assert r.status_code == 409 and "already has a bed with that label" in r.text
    beds = db.exec(select(Bed).where(Bed.ward_id == ward.id).order_by(col(Bed.sort_order))).all()
    # Relabel and reorder: the same bed (id), so its history stays with it.
    page = browser.get(f"/admin/beds/{beds[0].id}")
    r = browser.post(
        f"/admin/beds/{beds[0].id}", {"label": "A1-side", "sort_order": "99", "version": version_in(page.text)}
    )
    assert r.status_code == 303
    db.refresh(beds[0])
    assert (beds[0].label, beds[0].sort_order) == ("A1-side", 99)


def test_removing_a_bed_with_a_patient_is_refused(db, browser_as, ward, manager, nurse_principal):
    bed = factories.beds_of(db, ward)[0]
    factories.make_stay(db, nurse_principal, ward, bed)
    browser = browser_as(manager)
    page = browser.get(f"/admin/beds/{bed.id}")
    r = browser.post(
        f"/admin/beds/{bed.id}",
        {"label": bed.label, "sort_order": str(bed.sort_order), "retired": "yes", "version": version_in(page.text)},
    )
    assert r.status_code == 409 and "has a patient in it" in r.text
    db.refresh(bed)
    assert bed.retired_at is None
    # Ward managers edit their wards but do not create wards.
    assert browser.post("/admin/wards", {"site_id": str(ward.site_id), "code": "X", "name": "X"}).status_code == 403


def test_ward_list_pages_are_scoped_and_survive_bad_input(db, browser_as, ward, manager):
    other = factories.make_ward(db, beds=1)
    browser = browser_as(manager)
    assert browser.get(f"/wards/{other.code}/ward-list").status_code == 404
    assert upload(browser, other, csv_of(person(7, "B01"))).status_code == 404
    assert browser.post(f"/wards/{other.code}/ward-list/apply", {"content": "", "plan": ""}).status_code == 404
    browser.get(f"/wards/{ward.code}/ward-list")
    garbage = ["", "!!!", "QUJD", base64.b64encode(b"\x00\xff\xfe").decode(), "A" * 100, "x" * 5000]
    for content in garbage:
        for plan in ("", "z" * 64, "0" * 64, "0" * 65):
            for extra in ({}, {"discharge_missing": "yes"}):
                r = browser.post(f"/wards/{ward.code}/ward-list/apply", {"content": content, "plan": plan} | extra)
                assert r.status_code in (409, 422) and r.headers["content-type"].startswith("text/html"), (
                    content[:10],
                    plan[:10],
                    r.status_code,
                )
        r = browser.post(f"/wards/{ward.code}/ward-list", {"content": content})
        assert r.status_code in (200, 422), (content[:10], r.status_code)
    assert db.exec(select(func.count()).select_from(Stay).where(Stay.ward_id == ward.id)).one() == 0


def test_correct_the_admission_time_of_a_patient_still_in(db, browser_as, api_as, ward, manager, nurse_principal, now):
    stay = factories.make_stay(db, nurse_principal, ward, factories.beds_of(db, ward)[0])
    browser = browser_as(manager)
    assert f"/stays/{stay.id}/correct" in browser.get(f"/beds/{stay.bed_id}/state").text
    page = browser.get(f"/stays/{stay.id}/correct")
    assert "Correct the admission time" in page.text and 'name="discharged_date"' not in page.text
    earlier = stay.admitted_at - timedelta(hours=5)
    day, clock = earlier.date().isoformat(), earlier.strftime("%H:%M")  # March: London is on GMT
    form = {"admitted_date": day, "admitted_time": clock, "version": version_in(page.text)}
    r = browser.post(f"/stays/{stay.id}/correct", form)
    assert r.status_code == 422 and 'id="reason"' in r.text
    before = events(db, "correct")
    r = browser.post(f"/stays/{stay.id}/correct", form | {"reason": "Arrived in the night, typed the morning"})
    assert r.status_code == 303, r.text[:500]
    db.refresh(stay)
    assert stay.admitted_at == earlier.replace(second=0, microsecond=0) and stay.discharged_at is None
    assert events(db, "correct") == before + 1
    # Over the API, the same service: anything but the admission time of a current stay is refused.
    api = api_as(manager)
    r = api.post(f"/stays/{stay.id}/correction", json={"pathway": 1, "reason": "x", "version": stay.version})
    assert r.status_code == 409
    later = (now + timedelta(days=1)).isoformat()
    r = api.post(f"/stays/{stay.id}/correction", json={"admitted_at": later, "reason": "x", "version": stay.version})
    assert r.status_code == 422


def test_an_upload_needs_the_csrf_token_in_its_multipart_body(db, browser_as, ward, manager):
    browser = browser_as(manager)
    browser.get(f"/wards/{ward.code}/ward-list")
    files = {"file": ("amu.csv", csv_of(person(8, "B01")), "text/csv")}
    for fields in ({}, {"csrf_token": "not-the-token"}, {"csrf_token": ""}):
        r = browser.client.post(f"/wards/{ward.code}/ward-list", files=files, data=fields)
        assert r.status_code == 403 and "Form expired" in r.text, fields
    assert upload(browser, ward, csv_of(person(8, "B01"))).status_code == 200


def test_the_screens_say_when_the_pas_feed_covers_the_ward(db, browser_as, ward, manager, nurse_principal, now):
    from app.models import PasLocation

    db.add(PasLocation(pas_point_of_care=f"P{ward.code}", ward_id=ward.id, created_at=now, updated_at=now))
    db.flush()
    beds = factories.beds_of(db, ward)
    stay = factories.make_stay(db, nurse_principal, ward, beds[0])
    browser = browser_as(manager)
    board = browser.get(f"/wards/{ward.code}").text
    assert 'id="pas-feed-note"' in board and "PAS due" in board
    for url in (f"/beds/{beds[1].id}/admit", f"/stays/{stay.id}/move", f"/stays/{stay.id}/discharge"):
        assert "takes over the stay admitted by hand" in browser.get(url).text, url
    assert 'id="pas-feed-note"' in browser.get(f"/wards/{ward.code}/ward-list").text
    # Without the feed, none of it.
    other = factories.make_ward(db, beds=1)
    manager_other = factories.make_user(db, "ward_manager", wards=[other])
    assert 'id="pas-feed-note"' not in browser_as(manager_other).get(f"/wards/{other.code}").text
