"""Discharge milestones: made per pathway, red/amber/green against a controlled clock, changed
over the API and the one-tap form, scoped to the user's wards."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from app.core import codes
from app.milestones import rules, service
from app.models import AuditEvent, DischargeMilestone
from app.reviews.schemas import ReviewRequest
from app.reviews.service import record_review
from tests import factories

BY_PATHWAY = {
    0: {"tto", "discharge_letter", "family_informed"},
    1: {"tto", "discharge_letter", "family_informed", "transport", "package_of_care", "equipment", "district_nurse"},
    2: {"tto", "discharge_letter", "family_informed", "transport", "equipment", "placement"},
    3: {"tto", "discharge_letter", "family_informed", "transport", "placement"},
}


def _codes(db, stay) -> dict[str, str]:  # noqa: ANN001
    return {m.type_code: m.status for m in service.milestones_for_stay(db, stay.id)}


@pytest.mark.parametrize("pathway", [0, 1, 2, 3])
def test_milestones_made_for_the_pathway_at_admission(db, ward, nurse_principal, pathway):
    stay = factories.make_stay(db, nurse_principal, ward, None, pathway=pathway)
    assert _codes(db, stay) == dict.fromkeys(BY_PATHWAY[pathway], codes.MILESTONE_NOT_STARTED)
    audited = db.exec(select(AuditEvent).where(AuditEvent.entity_type == "dischargemilestone")).all()
    assert len(audited) == len(BY_PATHWAY[pathway])


def test_no_pathway_no_milestones(db, ward, nurse_principal):
    stay = factories.make_stay(db, nurse_principal, ward, None)
    assert _codes(db, stay) == {}


def test_due_times_follow_the_edd_in_london_time(db, ward, nurse_principal, now):
    # Summer time: 16:00 in London is 15:00 UTC.
    at = datetime(2026, 7, 1, 9, tzinfo=UTC)
    stay = factories.make_stay(
        db, nurse_principal, ward, None, now=at, pathway=1, expected_discharge_date=date(2026, 7, 4)
    )
    due = {m.type_code: m.due_at for m in service.milestones_for_stay(db, stay.id)}
    assert due["tto"] == datetime(2026, 7, 3, 15, tzinfo=UTC)
    assert due["package_of_care"] == datetime(2026, 7, 2, 11, tzinfo=UTC)
    # Without an EDD: before tomorrow; never in the past.
    assert rules.due_at(edd=None, today=date(2026, 3, 10), days_before_edd=1, hour=16, now=now) == datetime(
        2026, 3, 10, 16, tzinfo=UTC
    )
    assert rules.due_at(edd=date(2026, 3, 10), today=date(2026, 3, 10), days_before_edd=2, hour=9, now=now) == now


def test_pathway_changed_in_a_review_adds_and_stands_down(db, ward, nurse_principal, now):
    stay = factories.make_stay(db, nurse_principal, ward, None, pathway=1)
    transport = next(m for m in service.milestones_for_stay(db, stay.id) if m.type_code == "transport")
    transport.status = codes.MILESTONE_IN_PROGRESS
    db.flush()
    record_review(
        db,
        actor=nurse_principal,
        stay=stay,
        data=ReviewRequest(meets_criteria_to_reside=False, delay_reason_code="CAP01", pathway=3),
        now=now,
    )
    found = _codes(db, stay)
    assert found["placement"] == codes.MILESTONE_NOT_STARTED  # new for pathway 3
    assert found["package_of_care"] == codes.MILESTONE_NOT_NEEDED  # pathway 1 only, not started
    assert found["transport"] == codes.MILESTONE_IN_PROGRESS  # still applies
    assert found["district_nurse"] == codes.MILESTONE_NOT_NEEDED


def test_rag_rule_edges():
    due = datetime(2026, 3, 10, 16, tzinfo=UTC)
    hours = timedelta(hours=1)
    assert rules.rag("not_started", due, due - 5 * hours) == codes.RAG_GREEN
    assert rules.rag("not_started", due, due - 4 * hours) == codes.RAG_AMBER
    assert rules.rag("in_progress", due - timedelta(seconds=1), due - timedelta(seconds=2)) == codes.RAG_AMBER
    assert rules.rag("in_progress", due, due) == codes.RAG_RED
    assert rules.rag("done", due, due + 9 * hours) == codes.RAG_COMPLETE
    assert rules.rag("not_needed", due, due + 9 * hours) == codes.RAG_COMPLETE


def test_rag_moves_with_the_clock_over_the_api(db, api, ward, nurse_principal, clock):
    stay = factories.make_stay(
        db, nurse_principal, ward, None, pathway=0, expected_discharge_date=date(2026, 3, 13), now=clock.now()
    )
    # tto: 16:00 on 12 March (GMT), family informed 17:00 on the 11th; the clock starts at 11:00 on 10 March.

    def tto() -> dict:
        found = api.get(f"/stays/{stay.id}/milestones")
        assert found.status_code == 200
        return next(m for m in found.json() if m["type_code"] == "tto")

    assert tto()["rag"] == "green" and tto()["label"] == "Medicines to take home ready"
    clock.advance(hours=49)  # 12:00 on the 12th: four hours to go
    assert tto()["rag"] == "amber"
    clock.advance(hours=4)
    assert tto()["rag"] == "red"
    assert [m.type_code for m in service.overdue_milestones(db, stay.id, clock.now())] == ["family_informed", "tto"]
    overdue = service.overdue_on_wards(db, clock.now(), [ward.id])
    assert [(o.stay_id, o.ward_id, o.owner_role_code) for o in overdue] == [
        (stay.id, ward.id, "nurse"),
        (stay.id, ward.id, "pharmacist"),
    ]
    assert service.overdue_on_wards(db, clock.now(), []) == []

    m = tto()
    assert api.patch(f"/stays/{stay.id}/milestones/{m['id']}", json={"status": "done"}).status_code == 428
    stale = api.patch(f"/stays/{stay.id}/milestones/{m['id']}", json={"status": "done", "version": m["version"] + 1})
    assert stale.status_code == 409
    bad = api.patch(f"/stays/{stay.id}/milestones/{m['id']}", json={"status": "finished", "version": m["version"]})
    assert bad.status_code == 422
    done = api.patch(f"/stays/{stay.id}/milestones/{m['id']}", json={"status": "done", "version": m["version"]})
    assert done.status_code == 200, done.text
    assert done.json()["rag"] == "complete" and done.json()["done_at"] is not None
    assert done.headers["etag"] == f'"{done.json()["version"]}"'
    assert [m.type_code for m in service.overdue_milestones(db, stay.id, clock.now())] == ["family_informed"]
    later = api.patch(
        f"/stays/{stay.id}/milestones/{m['id']}",
        json={"due_at": "2026-03-20T10:00:00Z", "owner_role_code": "nurse", "version": done.json()["version"]},
    )
    assert later.status_code == 200 and later.json()["owner_role_code"] == "nurse"


def test_other_wards_milestones_answer_404(db, api_as, ward, nurse_principal):
    stay = factories.make_stay(db, nurse_principal, ward, None, pathway=0)
    milestone = service.milestones_for_stay(db, stay.id)[0]
    elsewhere = factories.make_user(db, "nurse", wards=[factories.make_ward(db)])
    other = api_as(elsewhere)
    assert other.get(f"/stays/{stay.id}/milestones").status_code == 404
    assert (
        other.patch(f"/stays/{stay.id}/milestones/{milestone.id}", json={"status": "done", "version": 1}).status_code
        == 404
    )
    assert db.get(DischargeMilestone, milestone.id).status == codes.MILESTONE_NOT_STARTED


def test_one_tap_status_on_the_patient_page(db, browser_as, nurse, ward, nurse_principal):
    stay = factories.make_stay(db, nurse_principal, ward, None, pathway=0)
    milestone = service.milestones_for_stay(db, stay.id)[0]
    browser = browser_as(nurse)
    page = browser.get(f"/stays/{stay.id}")
    assert page.status_code == 200 and f'id="milestones-{stay.id}"' in page.text
    assert "Medicines to take home ready" in page.text
    panel = browser.get(f"/stays/{stay.id}/milestones", headers={"HX-Request": "true"})
    assert "<html" not in panel.text and "Discharge milestones" in panel.text
    answer = browser.post(
        f"/stays/{stay.id}/milestones/{milestone.id}",
        {"status": "in_progress", "version": str(milestone.version)},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200 and "Milestone updated" in answer.text
    db.expire_all()
    assert db.get(DischargeMilestone, milestone.id).status == codes.MILESTONE_IN_PROGRESS
    # The same button from a page drawn before that change: someone else changed it.
    stale = browser.post(
        f"/stays/{stay.id}/milestones/{milestone.id}",
        {"status": "done", "version": "1"},
        headers={"HX-Request": "true"},
    )
    assert stale.status_code == 409 and "Someone else changed this milestone" in stale.text
    refused = browser.post(
        f"/stays/{stay.id}/milestones/{milestone.id}",
        {"status": "nope", "version": "2"},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 422
    plain = browser.post(f"/stays/{stay.id}/milestones/{milestone.id}", {"status": "done", "version": "2"})
    assert plain.status_code in (200, 303)
    db.expire_all()
    assert db.get(DischargeMilestone, milestone.id).status == codes.MILESTONE_DONE


def test_board_shows_overdue_milestones_compactly(db, browser_as, nurse, ward, nurse_principal, now, clock):
    bed = factories.beds_of(db, ward)[0]
    stay = factories.make_stay(db, nurse_principal, ward, bed, pathway=0, expected_discharge_date=now.date())
    browser = browser_as(nurse)
    page = browser.get(f"/wards/{ward.code}")
    assert page.status_code == 200
    assert f'id="stay-{stay.id}-milestones"' in page.text and "3 milestones overdue" in page.text
    for m in service.milestones_for_stay(db, stay.id):
        m.status = codes.MILESTONE_DONE
    db.flush()
    assert "Milestones done" in browser.get(f"/wards/{ward.code}").text
    assert service.rag_by_stay(db, [stay.id], now) == {stay.id: {"red": 0, "amber": 0, "green": 0, "complete": 3}}
