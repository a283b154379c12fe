"""Importing the PAS ward list over the API: preview row by row, apply in one transaction, twice."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlmodel import func, select

from app.models import AuditEvent, Patient, Stay, StayLocation
from tests import factories

HEADER = "Bed,NHS Number,MRN,Surname,Forename,Date of Birth,Sex,Admitted,Consultant"
CSV = {"Content-Type": "text/csv"}


def csv_of(*rows: tuple, header: str = HEADER, sep: str = ",") -> bytes:
    lines = [header.replace(",", sep)] + [sep.join(str(c) for c in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode()


def person(n: int, bed: str, *, admitted: str = "09/03/2026 08:30", consultant: str = "Dr Adeyemi") -> tuple:
    nhs = factories.test_nhs_number(9000 + n)
    return (bed, f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}", f"WL{n:04d}", f"Family{n}", f"Given{n}", "01/02/1945", "F",
            admitted, consultant)  # fmt: skip


def preview(client, ward, body: bytes, **params):  # noqa: ANN001
    return client.post(f"/wards/{ward.id}/ward-list/preview", content=body, headers=CSV, params=params)


def apply(client, ward, body: bytes, plan: str, **params):  # noqa: ANN001
    return client.post(f"/wards/{ward.id}/ward-list/apply", content=body, headers=CSV, params={"plan": plan} | params)


def events(db) -> int:  # noqa: ANN001
    return db.exec(select(func.count()).select_from(AuditEvent)).one()


@pytest.fixture
def manager(db, ward):
    return factories.make_user(db, "ward_manager", wards=[ward])


def actions(body: dict) -> list[tuple]:
    return [(r["line"], r["bed"], r["action"]) for r in body["rows"]]


def test_preview_then_apply_then_the_same_file_again(db, api_as, ward, manager):
    client = api_as(manager)
    body = csv_of(person(1, "B01"), person(2, "b02"), person(3, ""))
    before = events(db)
    r = preview(client, ward, body)
    assert r.status_code == 200, r.text
    shown = r.json()
    assert actions(shown) == [(2, "B01", "admit"), (3, "b02", "admit"), (4, "", "admit")]
    assert [row["detail"] for row in shown["rows"]] == [
        "Admit to bed B01; consultant: Dr Adeyemi",
        "Admit to bed B02; consultant: Dr Adeyemi",
        "Admit to the ward (no bed); consultant: Dr Adeyemi",
    ]
    assert shown["counts"] == {"admit": 3} and shown["applied"] is False and shown["pas_feed"] is False
    assert events(db) == before  # a preview writes nothing

    r = apply(client, ward, body, shown["plan"])
    assert r.status_code == 200, r.text
    assert r.json()["applied"] is True
    stays = db.exec(select(Stay).where(Stay.ward_id == ward.id).order_by(Stay.id)).all()
    assert [(s.bed_id is not None, s.responsible_consultant) for s in stays] == [(True, "Dr Adeyemi")] * 2 + [
        (False, "Dr Adeyemi")
    ]
    assert stays[0].admitted_at.isoformat() == "2026-03-09T08:30:00+00:00"
    audited = db.exec(select(AuditEvent.action, AuditEvent.actor_id).where(AuditEvent.action == "admit")).all()
    assert audited == [("admit", manager.id)] * 3

    written = events(db)
    again = preview(client, ward, body).json()
    assert [r["action"] for r in again["rows"]] == ["unchanged"] * 3
    assert apply(client, ward, body, again["plan"]).status_code == 200
    assert events(db) == written  # importing the same file twice changes nothing


def test_an_excel_file_with_bad_rows_a_bom_semicolons_and_a_patient_who_moved(db, api_as, ward, manager, now):
    client = api_as(manager)
    first = csv_of(person(1, "B01"), person(2, "B02"), person(3, "B03"))
    apply(client, ward, first, preview(client, ward, first).json()["plan"])
    bad_nhs = list(person(4, "B04"))
    bad_nhs[1] = "999 999 9990"  # wrong check digit
    moved = person(2, "B04")  # was in B02
    swapped = person(3, "B01"), person(1, "B03")  # B01 and B03 swap patients
    body = b"\xef\xbb\xbf" + csv_of(
        swapped[0], moved, swapped[1], tuple(bad_nhs), person(5, "B99"), person(6, "B05", admitted="31/02/2026"),
        person(7, "B05"), person(9, "B03"), sep=";",
    )  # fmt: skip
    shown = preview(client, ward, body).json()
    assert shown["notes"][0] == "Read as UTF-8 text separated by semicolons; 8 rows"
    assert actions(shown) == [
        (2, "B01", "move"),
        (3, "B04", "move"),
        (4, "B03", "move"),
        (5, "B04", "refuse"),
        (6, "B99", "refuse"),
        (7, "B05", "refuse"),
        (8, "B05", "admit"),
        (9, "B03", "refuse"),
    ]
    details = [r["detail"] for r in shown["rows"]]
    assert details[:2] == ["Move from bed B03 to bed B01", "Move from bed B02 to bed B04"]
    assert details[3] == "NHS number is not valid: its check digit does not match"
    assert details[4] == "There is no bed B99 on this ward"
    assert details[5] == "Admitted: Enter a real date"
    assert details[7] == "Bed B03 is also on line 4"
    assert shown["counts"] == {"admit": 1, "move": 3, "refuse": 4}

    r = apply(client, ward, body, shown["plan"])
    assert r.status_code == 200, r.text
    by_mrn = {p.mrn: p.id for p in db.exec(select(Patient).where(Patient.mrn.like("WL%")))}
    beds = {b.id: b.label for b in factories.beds_of(db, ward)}
    placed = {
        s.patient_id: beds.get(s.bed_id)
        for s in db.exec(select(Stay).where(Stay.ward_id == ward.id, Stay.discharged_at.is_(None)))
    }
    assert placed == {
        by_mrn["WL0001"]: "B03",
        by_mrn["WL0002"]: "B04",
        by_mrn["WL0003"]: "B01",
        by_mrn["WL0007"]: "B05",
    }

    # The swap: one of the two waited in no bed for a moment, and the ward history says so.
    def history(mrn: str) -> list:
        return [beds.get(b) for b in db.exec(
            select(StayLocation.bed_id).join(Stay, Stay.id == StayLocation.stay_id)
            .where(Stay.patient_id == by_mrn[mrn]).order_by(StayLocation.id)
        )]  # fmt: skip

    assert history("WL0003") == ["B03", None, "B01"] and history("WL0001") == ["B01", "B03"]


def test_patients_no_longer_on_the_list_are_discharged_only_when_confirmed(db, api_as, ward, manager, now):
    client = api_as(manager)
    first = csv_of(person(1, "B01"), person(2, "B02"))
    apply(client, ward, first, preview(client, ward, first).json()["plan"])
    later = csv_of(person(1, "B01"), person(8, "B02"))
    shown = preview(client, ward, later).json()
    assert actions(shown) == [(2, "B01", "unchanged"), (3, "B02", "refuse"), (None, "B02", "not_on_list")]
    assert shown["rows"][1]["detail"] == (
        "Bed B02 still has a patient who is not on the list: confirm discharges, or correct the file"
    )
    assert shown["rows"][2]["mrn"] == "WL0002" and shown["rows"][2]["detail"] == "Not on the list: confirm to discharge"
    assert apply(client, ward, later, shown["plan"]).status_code == 200
    assert db.exec(select(Stay).where(Stay.discharged_at.is_not(None))).all() == []

    confirmed = preview(client, ward, later, discharge_missing=True).json()
    assert actions(confirmed) == [(2, "B01", "unchanged"), (3, "B02", "admit"), (None, "B02", "discharge")]
    # The plan is for what was shown: without the confirmation it is another plan.
    refused = apply(client, ward, later, confirmed["plan"])
    assert refused.status_code == 409 and refused.json()["error"]["fields"][0]["field"] == "plan"
    r = apply(client, ward, later, confirmed["plan"], discharge_missing=True)
    assert r.status_code == 200, r.text
    gone = db.exec(select(Stay).where(Stay.discharged_at.is_not(None))).one()
    assert gone.discharge_destination_code == "99" and gone.discharged_at == now


def test_the_plan_must_still_hold(db, api_as, ward, manager, nurse_principal):
    client = api_as(manager)
    body = csv_of(person(1, "B01"))
    shown = preview(client, ward, body).json()
    factories.make_stay(db, nurse_principal, ward, factories.beds_of(db, ward)[0])  # someone took B01 meanwhile
    r = apply(client, ward, body, shown["plan"])
    assert r.status_code == 409
    fresh = r.json()["error"]["detail"]
    assert [row["action"] for row in fresh["rows"]] == ["refuse", "not_on_list"]
    assert db.exec(select(Patient).where(Patient.mrn == "WL0001")).first() is None


def test_whose_list_it_is(db, api_as, ward, manager, nurse_principal):
    other = factories.make_ward(db, beds=2)
    elsewhere = factories.make_patient(db, nurse_principal, mrn="WL0009")
    factories.make_stay(db, factories.principal(db, factories.make_user(db, "flow_coordinator")), other, None,
                        patient=elsewhere)  # fmt: skip
    row = ("B01", elsewhere.nhs_number, "WL0009", elsewhere.family_name, elsewhere.given_name, "17/05/1940", "F",
           "09/03/2026", "")  # fmt: skip
    body = csv_of(row)
    # A ward manager: their wards only, and a patient on another ward is not theirs to move.
    shown = preview(api_as(manager), ward, body).json()
    assert shown["rows"][0]["detail"] == (
        "This patient is already in hospital elsewhere: ask the flow team to transfer them"
    )
    assert other.code not in str(shown)
    assert preview(api_as(manager), other, body).status_code == 404
    assert preview(api_as(factories.make_user(db, "nurse", wards=[ward])), ward, body).status_code == 403
    # A flow coordinator, site-wide: moves them here.
    flow = api_as(factories.make_user(db, "flow_coordinator"))
    shown = preview(flow, ward, body).json()
    assert shown["rows"][0]["detail"] == f"Move from ward {other.code} to bed B01"
    assert apply(flow, ward, body, shown["plan"]).status_code == 200
    assert db.exec(select(Stay).where(Stay.patient_id == elsewhere.id)).one().ward_id == ward.id


def test_details_that_differ_from_the_hospitals_record_are_refused_and_never_logged(
    db, api_as, ward, manager, nurse_principal, caplog
):
    known = factories.make_patient(db, nurse_principal, mrn="WL0010")
    row = ("B01", known.nhs_number, "WL0010", "Someone-Else", known.given_name, "17/05/1940", "F", "09/03/2026", "")
    caplog.set_level(logging.DEBUG)
    shown = preview(api_as(manager), ward, csv_of(row)).json()
    assert shown["rows"][0]["action"] == "refuse"
    assert shown["rows"][0]["detail"].startswith("These details do not match the hospital's record")
    for value in (known.nhs_number, "WL0010", "Someone-Else", known.family_name, known.given_name):
        assert value not in caplog.text


def test_files_that_cannot_be_read_say_why(db, api_as, ward, manager):
    client = api_as(manager)
    r = preview(client, ward, b"bed;nhs number\n1;2\n")
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "file"
    r = client.post(f"/wards/{ward.id}/ward-list/preview", content=b"", headers=CSV)
    assert r.status_code == 422
    r = client.post(f"/wards/{ward.id}/ward-list/apply", content=csv_of(person(1, "B1")), headers=CSV,
                    params={"plan": "x" * 64})  # fmt: skip
    assert r.status_code == 422


def test_an_admission_in_the_future_is_refused(db, api_as, ward, manager, now):
    later = (now + timedelta(days=1)).strftime("%d/%m/%Y %H:%M")
    shown = preview(api_as(manager), ward, csv_of(person(1, "B01", admitted=later))).json()
    assert shown["rows"][0]["detail"] == "The admission time is in the future"


def test_another_wards_list_is_refused_like_a_missing_ward(db, api_as, ward, manager):
    """The ward-list routes in tests/security/test_ids_in_requests.py: another ward's id answers
    word for word as an id that does not exist, and nothing is written."""
    other = factories.make_ward(db, beds=2)
    flow = factories.principal(db, factories.make_user(db, "flow_coordinator"))
    factories.make_stay(db, flow, other, factories.beds_of(db, other)[0])
    client = api_as(manager)
    body = csv_of(person(1, "B01"))
    plan = preview(client, ward, body).json()["plan"]
    written = events(db)
    for route in ("preview", "apply"):
        answers = [
            client.post(f"/wards/{ward_id}/ward-list/{route}", content=body, headers=CSV, params={"plan": plan})
            for ward_id in (other.id, 2**31 - 1)
        ]
        assert [a.status_code for a in answers] == [404, 404]
        assert (
            answers[0].json()
            == answers[1].json()
            == {"error": {"code": "not_found", "message": "No such ward", "fields": []}}
        )
    assert events(db) == written
    assert apply(client, ward, body, plan).status_code == 200  # the same request on their own ward
