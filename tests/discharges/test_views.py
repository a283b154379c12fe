"""The failed-discharge pages over HTTP as signed-in staff."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from app.discharges.schemas import FailedDischargeUpdate
from app.discharges.service import update_failed_discharge
from app.models import AuditEvent, EddChange, FailedDischarge, FailedDischargeCause, Patient, Ward
from tests import factories
from tests.discharges.conftest import log

TYPED = {
    "planned_date": "2026-07-01",
    "planned_time": "11:30",
    "causes": "",
    "avoidable": "",
    "detail": "Typed detail kept",
    "follow_up_owner_role": "pharmacist",
    "follow_up_due_date": "2026-07-02",
    "follow_up_due_time": "09:15",
}


def summary_links(html: str) -> dict[str, str]:
    """The NHS error summary's links: field anchor -> message."""
    body = html.split("nhsuk-error-summary__list")[1].split("</ul>")[0]
    return {href: " ".join(text.split()) for href, text in re.findall(r'<a href="([^"]+)"\s*>(.*?)</a>', body, re.S)}


def form_items(**values) -> list[tuple[str, str]]:  # noqa: ANN003
    """Form body with repeated names for lists (ticked checkboxes)."""
    items: list[tuple[str, str]] = []
    for key, value in values.items():
        items += [(key, v) for v in value] if isinstance(value, list | tuple) else [(key, value)]
    return items


def test_log_for_a_patient_then_revisit_the_edd(db, browser_as, nurse, stays, nurse_principal, now):
    stay = stays[0]
    factories.make_edd(db, nurse_principal, stay, date(2026, 3, 10), now=now)
    db.flush()
    browser = browser_as(nurse)
    page = browser.get(f"/stays/{stay.id}/failed-discharges/new")
    assert page.status_code == 200
    assert "Log a failed discharge" in page.text and "HOME0, Grace" in page.text
    assert page.text.count('name="causes"') == 16 and page.text.count('name="primary_cause"') == 16
    assert 'value="2026-03-10"' in page.text  # the planned date starts as today

    r = browser.post(
        f"/stays/{stay.id}/failed-discharges/new",
        form_items(**TYPED | {"causes": ["transport", "medicines"], "primary_cause": "transport", "avoidable": "yes"}),
    )
    assert r.status_code == 303, r.text[:2000]
    fd = db.exec(select(FailedDischarge).where(FailedDischarge.stay_id == stay.id)).one()
    assert r.headers["location"] == f"/stays/{stay.id}/edd?failed_discharge={fd.id}"
    # 11:30 London on 1 July 2026 (BST) is stored as 10:30 UTC.
    assert fd.planned_for == datetime(2026, 7, 1, 10, 30, tzinfo=UTC)
    assert fd.follow_up_due_at == datetime(2026, 7, 2, 8, 15, tzinfo=UTC)
    assert fd.avoidable is True and fd.detail == "Typed detail kept" and fd.follow_up_owner_role_code == "pharmacist"
    causes = {c.reason_code: c.is_primary for c in db.exec(select(FailedDischargeCause))}
    assert causes == {"transport": True, "medicines": False}
    event = db.exec(select(AuditEvent).where(AuditEvent.entity_type == "faileddischarge")).one()
    assert event.actor_name == "Nina Nurse" and event.actor_id == nurse.id

    page = browser.get(r.headers["location"])
    assert page.status_code == 200 and "Revisit the expected discharge date" in page.text
    assert 'name="expected_discharge_date" type="date" value="2026-03-10"' in page.text
    assert 'value="Failed discharge: Transport not booked, late or cancelled"' in page.text
    assert "Failed discharge logged" in page.text and f'href="/stays/{stay.id}" id="keep-edd"' in page.text
    version = re.search(r'name="stay_version" value="(\d+)"', page.text).group(1)

    r = browser.post(
        f"/stays/{stay.id}/edd",
        {
            "expected_discharge_date": "2026-03-12",
            "reason": "Failed discharge: Transport not booked, late or cancelled",
            "stay_version": version,
            "failed_discharge": str(fd.id),
        },
    )
    assert r.status_code == 303 and r.headers["location"] == f"/stays/{stay.id}"
    db.refresh(stay)
    assert stay.expected_discharge_date == date(2026, 3, 12)
    change = db.exec(select(EddChange).where(EddChange.stay_id == stay.id).order_by(EddChange.id.desc())).first()
    assert change.reason == "Failed discharge: Transport not booked, late or cancelled"
    assert change.old_date == date(2026, 3, 10) and change.changed_by_id == nurse.id
    edd_event = db.exec(select(AuditEvent).where(AuditEvent.action == "set_edd").order_by(AuditEvent.id.desc())).first()
    assert edd_event.actor_name == "Nina Nurse"
    assert "Failed discharge: Transport" in browser.get(f"/stays/{stay.id}").text  # in the EDD history


def test_htmx_success_moves_on_with_hx_location(db, browser_as, nurse, stays):
    browser = browser_as(nurse)
    browser.get(f"/stays/{stays[0].id}/failed-discharges/new")
    r = browser.post(
        f"/stays/{stays[0].id}/failed-discharges/new",
        form_items(**TYPED | {"causes": "transport", "avoidable": "no"}),
        headers={"HX-Request": "true", "HX-Target": "fd-form"},
    )
    assert r.status_code == 200
    fd = db.exec(select(FailedDischarge)).one()
    assert r.headers["hx-redirect"] == f"/stays/{stays[0].id}/edd?failed_discharge={fd.id}"
    assert db.exec(select(FailedDischargeCause)).one().is_primary  # one cause: the main one


def test_validation_errors_keep_what_was_typed(db, browser_as, nurse, stays):
    browser = browser_as(nurse)
    url = f"/stays/{stays[0].id}/failed-discharges/new"
    browser.get(url)

    r = browser.post(url, form_items(**TYPED))  # no cause, no avoidable
    assert r.status_code == 422
    assert "There is a problem" in r.text
    assert summary_links(r.text) == {
        "#causes": "Select at least one cause",
        "#avoidable": "Select yes if the failed discharge could have been avoided",
    }
    assert "Typed detail kept" in r.text and 'value="11:30"' in r.text and 'value="2026-07-01"' in r.text
    assert 'value="09:15"' in r.text and re.search(r'value="pharmacist"\s+selected', r.text)
    assert "<title>Error: Log a failed discharge" in r.text

    r = browser.post(
        url,
        form_items(**TYPED | {"causes": ["transport", "medicines"], "primary_cause": "care_home", "avoidable": "no"}),
        headers={"HX-Request": "true", "HX-Target": "fd-form"},
    )
    assert r.status_code == 422
    assert "<html" not in r.text and 'id="fd-form"' in r.text  # the fragment only
    assert "The main cause must be one of the causes you ticked" in r.text
    assert re.search(r'value="transport"\s+checked', r.text) and re.search(r'value="medicines"\s+checked', r.text)
    assert re.search(r'name="avoidable" type="radio" value="no"\s+checked', r.text)

    r = browser.post(url, form_items(**TYPED | {"causes": ["transport", "medicines"], "avoidable": "yes"}))
    assert r.status_code == 422 and "Select which cause was the main one" in r.text

    r = browser.post(
        url, form_items(**TYPED | {"causes": "transport", "avoidable": "no", "planned_date": "2026-03-01"})
    )
    assert r.status_code == 422 and "Planned discharge cannot be before admission" in r.text
    assert db.exec(select(FailedDischarge)).all() == []


def test_choose_the_patient_first(db, browser_as, nurse, stays, other_stay, ward):
    browser = browser_as(nurse)
    page = browser.get("/failed-discharges/new")
    assert page.status_code == 200
    assert f"{ward.name} – B01 – HOME0, Grace" in page.text and "ELSEWHERE" not in page.text
    assert "HOME1, Grace" in browser.get(f"/failed-discharges/new?ward={ward.id}").text

    r = browser.post("/failed-discharges/new", form_items(**TYPED | {"causes": "transport", "avoidable": "no"}))
    assert r.status_code == 422 and "Select the patient" in r.text and "Typed detail kept" in r.text
    odd = {"stay_id": "²", "ward": "9" * 5000, "causes": "transport", "avoidable": "no"}
    assert browser.post("/failed-discharges/new", form_items(**TYPED | odd)).status_code == 422
    # Another ward's patient is refused exactly like no patient, and nothing is stored.
    r = browser.post(
        "/failed-discharges/new",
        form_items(**TYPED | {"stay_id": str(other_stay.id), "causes": "transport", "avoidable": "no"}),
    )
    assert r.status_code == 422 and "Select the patient" in r.text
    assert db.exec(select(FailedDischarge)).all() == []
    # Other errors keep the chosen patient selected on the same form.
    r = browser.post("/failed-discharges/new", form_items(**TYPED | {"stay_id": str(stays[1].id), "causes": "therapy"}))
    assert r.status_code == 422 and 'action="/failed-discharges/new"' in r.text
    assert re.search(rf'value="{stays[1].id}"\s+selected', r.text)

    r = browser.post(
        "/failed-discharges/new",
        form_items(**TYPED | {"stay_id": str(stays[1].id), "causes": "therapy", "avoidable": "yes"}),
    )
    assert r.status_code == 303
    assert db.exec(select(FailedDischarge)).one().stay_id == stays[1].id


def test_site_wide_flow_coordinator_picks_from_every_ward(db, browser_as, stays, other_stay):
    flow = factories.make_user(db, "flow_coordinator")
    page = browser_as(flow).get("/failed-discharges/new")
    assert "HOME0, Grace" in page.text and "ELSEWHERE, Olive" in page.text


def test_another_wards_records_are_not_found(db, browser_as, nurse, other_stay, other_principal, now):
    fd = log(db, other_principal, other_stay, planned_for=now - timedelta(hours=1), owner="nurse", due=now)
    db.flush()
    browser = browser_as(nurse)
    for url in (f"/stays/{other_stay.id}/failed-discharges/new", f"/stays/{other_stay.id}/edd"):
        assert browser.get(url).status_code == 404, url
    browser.get("/failed-discharges")
    for url in (
        f"/stays/{other_stay.id}/failed-discharges/new",
        f"/stays/{other_stay.id}/edd",
        f"/failed-discharges/{fd.id}/follow-up-done",
    ):
        assert browser.post(url, {"version": "1", "stay_version": "1"}).status_code == 404, url
    db.refresh(fd)
    assert fd.follow_up_done_at is None


def test_stale_edd_shows_who_changed_it_and_keeps_the_typed_values(db, browser_as, nurse, ward, stays, now):
    stay = stays[0]
    browser = browser_as(nurse)
    page = browser.get(f"/stays/{stay.id}/edd")
    version = re.search(r'name="stay_version" value="(\d+)"', page.text).group(1)
    doctor = factories.principal(db, factories.make_user(db, "doctor", wards=[ward], display_name="Dr Dee"))
    factories.make_edd(db, doctor, stay, date(2026, 3, 11), now=now)
    db.flush()  # as their commit would
    typed = {"expected_discharge_date": "2026-03-15", "reason": "My typed reason", "stay_version": version}
    r = browser.post(f"/stays/{stay.id}/edd", typed)
    assert r.status_code == 409
    assert "Dr Dee changed this patient" in r.text
    assert 'value="2026-03-15"' in r.text and 'value="My typed reason"' in r.text
    assert "11 Mar 2026" in r.text  # their date is shown as the current one
    new_version = re.search(r'name="stay_version" value="(\d+)"', r.text).group(1)
    assert new_version != version
    r = browser.post(f"/stays/{stay.id}/edd", typed | {"stay_version": new_version})
    assert r.status_code == 303
    db.refresh(stay)
    assert stay.expected_discharge_date == date(2026, 3, 15)


def test_edd_errors(db, browser_as, nurse, stays, nurse_principal, now):
    stay = stays[0]
    factories.make_edd(db, nurse_principal, stay, date(2026, 3, 10), now=now)
    db.flush()
    browser = browser_as(nurse)
    browser.get(f"/stays/{stay.id}/edd")
    r = browser.post(
        f"/stays/{stay.id}/edd",
        {"expected_discharge_date": "2026-03-20", "reason": "", "stay_version": str(stay.version)},
    )
    assert r.status_code == 422 and "Say why the expected discharge date is changing" in r.text
    r = browser.post(f"/stays/{stay.id}/edd", {"expected_discharge_date": "", "stay_version": str(stay.version)})
    assert r.status_code == 422 and "Enter the expected discharge date" in r.text
    # Keeping the same date is not a change.
    r = browser.post(
        f"/stays/{stay.id}/edd", {"expected_discharge_date": "2026-03-10", "stay_version": str(stay.version)}
    )
    assert r.status_code == 303
    assert len(db.exec(select(EddChange).where(EddChange.stay_id == stay.id)).all()) == 1


def test_list_scope_overdue_and_follow_up_done(
    db, browser_as, nurse, ward, stays, other_stay, nurse_principal, other_principal, now
):
    overdue = log(
        db,
        nurse_principal,
        stays[0],
        planned_for=now - timedelta(hours=3),
        causes=("medicines", "transport"),
        primary="transport",
        owner="pharmacist",
        due=now - timedelta(hours=1),
    )
    upcoming = log(
        db, nurse_principal, stays[1], planned_for=now - timedelta(hours=2), owner="nurse", due=now + timedelta(hours=4)
    )
    log(db, other_principal, other_stay, planned_for=now - timedelta(hours=1), causes=("care_home",))
    db.flush()
    browser = browser_as(nurse)
    page = browser.get("/failed-discharges")
    assert page.status_code == 200
    assert "HOME0, Grace" in page.text and "HOME1, Grace" in page.text and "ELSEWHERE" not in page.text
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(r'<tr role="row" class="[^"]*" id="failed-discharge-(\d+)-row">.*?</tr>', page.text, re.S)
    }
    assert set(rows) == {str(overdue.id), str(upcoming.id)}
    late = rows[str(overdue.id)]
    assert "app-fd-row--overdue" in late and "nhsuk-tag--red" in late and "Overdue" in late
    assert "Follow-up overdue: was due Tue 10 Mar 2026, 10:00" in late
    # Primary cause first and bold.
    assert re.search(
        r"<strong>Transport not booked, late or cancelled</strong>.*Medicines to take home not ready", late, re.S
    )
    assert "Overdue" not in rows[str(upcoming.id)] and "Due Tue 10 Mar 2026, 15:00" in rows[str(upcoming.id)]
    assert page.text.index(f"failed-discharge-{upcoming.id}-row") < page.text.index(
        f"failed-discharge-{overdue.id}-row"
    )

    filtered = browser.get("/failed-discharges", params={"cause": "medicines", "follow_up": "open"})
    assert (
        f"failed-discharge-{overdue.id}-row" in filtered.text
        and f"failed-discharge-{upcoming.id}-row" not in filtered.text
    )

    r = browser.post(
        f"/failed-discharges/{overdue.id}/follow-up-done",
        {"version": str(overdue.version), "back": "cause=medicines&evil=1"},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/failed-discharges?cause=medicines&done={overdue.id}"
    db.refresh(overdue)
    assert overdue.follow_up_done_at == now
    event = db.exec(
        select(AuditEvent).where(AuditEvent.entity_type == "faileddischarge", AuditEvent.action == "update")
    ).one()
    assert event.actor_name == "Nina Nurse" and event.after["follow_up_done_at"]
    page = browser.get(r.headers["location"])
    assert "Follow-up marked done" in page.text and "Overdue" not in page.text

    # A stale version (someone else marked it first) is a 409 that names them.
    colleague = factories.principal(db, factories.make_user(db, "nurse", wards=[ward], display_name="Carl Colleague"))
    old_version = upcoming.version
    update_failed_discharge(
        db,
        actor=colleague,
        fd=upcoming,
        stay=stays[1],
        data=FailedDischargeUpdate(detail="Rang the family"),
        expected_version=old_version,
        now=now,
    )
    db.flush()
    r = browser.post(f"/failed-discharges/{upcoming.id}/follow-up-done", {"version": str(old_version)})
    assert r.status_code == 409 and "Carl Colleague changed it at 11:00" in r.text
    db.refresh(upcoming)
    assert upcoming.follow_up_done_at is None


def test_csv_export(db, browser_as, nurse, stays, other_stay, nurse_principal, other_principal, now):
    a = log(
        db,
        nurse_principal,
        stays[0],
        planned_for=datetime(2026, 7, 1, 10, 30, tzinfo=UTC),
        causes=("medicines", "transport"),
        primary="medicines",
        avoidable=True,
        owner="pharmacist",
        due=datetime(2026, 7, 1, 15, 0, tzinfo=UTC),
    )
    log(db, other_principal, other_stay, planned_for=now - timedelta(hours=1), causes=("care_home",))
    db.flush()
    browser = browser_as(nurse)
    r = browser.get("/failed-discharges.csv", params={"date_from": "2026-07-01", "date_to": "2026-07-01"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="failed-discharges-2026-03-10.csv"'
    assert r.headers["cache-control"] == "no-store"
    table = list(csv.reader(io.StringIO(r.text)))
    assert table[0] == [
        "id",
        "ward_code",
        "bed",
        "patient_mrn",
        "planned_for",
        "primary_cause",
        "causes",
        "avoidable",
        "follow_up_role",
        "follow_up_due",
        "follow_up_done",
        "logged_by",
        "logged_at",
    ]
    mrn = db.get(Patient, stays[0].patient_id).mrn
    ward_code = db.get(Ward, stays[0].ward_id).code
    assert table[1:] == [
        [
            str(a.id),
            ward_code,
            "B01",
            mrn,
            "2026-07-01T11:30+01:00",
            "medicines",
            "medicines;transport",
            "yes",
            "pharmacist",
            "2026-07-01T16:00+01:00",
            "",
            "Nina Nurse",
            "2026-03-10T11:00+00:00",
        ]
    ]
    assert "HOME0" not in r.text and "Grace" not in r.text  # no names in the export
    everything = list(csv.reader(io.StringIO(browser.get("/failed-discharges.csv").text)))
    assert len(everything) == 2  # the other ward's is never exported to this nurse


def test_causes_page_pareto_table_and_csv(db, browser_as, nurse, ward, stays, nurse_principal, now):
    for causes, primary in (
        (("transport", "medicines"), "medicines"),
        (("transport",), None),
        (("transport", "therapy"), "therapy"),
    ):
        log(db, nurse_principal, stays[0], planned_for=now - timedelta(days=1), causes=causes, primary=primary)
    long_stay = factories.make_stay(db, nurse_principal, ward, None, admitted_at=now - timedelta(days=90))
    log(
        db, nurse_principal, long_stay, planned_for=now - timedelta(days=60), causes=("care_home",)
    )  # before the period
    db.flush()
    browser = browser_as(nurse)
    page = browser.get("/failed-discharges/causes")
    assert page.status_code == 200
    assert 'value="2026-02-11"' in page.text and 'value="2026-03-10"' in page.text  # the last 28 days
    assert '<svg xmlns="http://www.w3.org/2000/svg" id="pareto-chart"' in page.text and 'role="img"' in page.text
    assert 'style="' not in page.text  # nothing the CSP would block
    assert "3 failed discharges" in page.text and "5 causes recorded" in page.text
    table = page.text.split('id="causes-table"')[1].split("</tbody>")[0]
    cells = re.findall(
        r'<th scope="row" class="nhsuk-table__cell">([^<]+)</th>\s*'
        r"<td[^>]*>(\d+)</td>\s*<td[^>]*>(\d+)</td>\s*<td[^>]*>([\d.]+%)</td>\s*<td[^>]*>([\d.]+%)</td>",
        table,
    )
    assert cells == [
        ("Transport not booked, late or cancelled", "3", "1", "60.0%", "60.0%"),
        ("Medicines to take home not ready", "1", "1", "20.0%", "80.0%"),
        ("Therapy assessment not done", "1", "1", "20.0%", "100.0%"),
    ]
    everything = browser.get("/failed-discharges/causes", params={"ward": "", "date_from": "", "date_to": ""})
    assert "Care home placement not ready" in everything.text and "4 failed discharges" in everything.text

    r = browser.get("/failed-discharges/causes.csv", params={"date_from": "2026-02-11", "date_to": "2026-03-10"})
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        r.headers["content-disposition"]
        == 'attachment; filename="failed-discharge-causes-2026-02-11-to-2026-03-10.csv"'
    )
    assert list(csv.reader(io.StringIO(r.text))) == [
        ["rank", "cause_code", "cause", "count", "primary_count", "percent_of_all", "cumulative_percent"],
        ["1", "transport", "Transport not booked, late or cancelled", "3", "1", "60.0", "60.0"],
        ["2", "medicines", "Medicines to take home not ready", "1", "1", "20.0", "80.0"],
        ["3", "therapy", "Therapy assessment not done", "1", "1", "20.0", "100.0"],
    ]


def test_filter_errors_are_shown_not_crashed(db, browser_as, nurse, stays):
    browser = browser_as(nurse)
    r = browser.get("/failed-discharges", params={"date_from": "2026-13-40", "ward": "999999", "avoidable": "maybe"})
    assert r.status_code == 422 and "Enter a real date" in r.text and "Choose a ward from the list" in r.text
    r = browser.get("/failed-discharges/causes", params={"date_from": "2026-03-10", "date_to": "2026-03-01"})
    assert r.status_code == 422 and "The end date must be on or after the start date" in r.text


def test_sponsor_can_read_but_not_log(db, browser_as, ward, stays, nurse_principal, now):
    log(
        db,
        nurse_principal,
        stays[0],
        planned_for=now - timedelta(hours=1),
        owner="nurse",
        due=now - timedelta(minutes=1),
    )
    db.flush()
    sponsor = factories.make_user(db, "executive_sponsor", wards=[ward])
    browser = browser_as(sponsor)
    page = browser.get("/failed-discharges")
    assert page.status_code == 200 and "HOME0" in page.text
    assert "Mark follow-up done" not in page.text and "Log a failed discharge" not in page.text
    assert browser.get(f"/stays/{stays[0].id}/failed-discharges/new").status_code == 403


@pytest.mark.parametrize(
    "url",
    ["/failed-discharges", "/failed-discharges.csv", "/failed-discharges/causes", "/failed-discharges/causes.csv"],
)
def test_dates_far_away_or_not_iso_are_not_server_errors(db, browser_as, nurse, stays, url):
    """date_to=9999-12-31 overflowed when the day after it was worked out (500)."""
    browser = browser_as(nurse)
    for date_to, message in (
        ("9999-12-31", "Enter a date between 1 January 1900 and 31 December 2100"),
        ("0", "Enter a date as YYYY-MM-DD"),
        ("0001-01-01", "Enter a date between 1 January 1900 and 31 December 2100"),
    ):
        r = browser.get(url, params={"date_from": "2026-03-01", "date_to": date_to})
        if url.endswith(".csv"):  # the export leaves an invalid filter out, as the list page does
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), (url, date_to)
            assert "\x00" not in r.headers["content-disposition"]
        else:
            assert r.status_code == 422 and message in r.text and f'value="{date_to}"' in r.text, (url, date_to)
    r = browser.get("/failed-discharges/causes.csv", params={"date_from": "a\x00b", "date_to": "2026-03-10"})
    assert r.headers["content-disposition"] == 'attachment; filename="failed-discharge-causes-start-to-2026-03-10.csv"'
