"""A late entry for a missed day: a senior role records an earlier day's review with a reason;
the discharge-ready date and the stored metrics days follow it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from app.metrics.stored import ward_days
from app.models import AuditEvent, DailyReview, MetricsDay, MetricsStale, Stay
from app.reviews.schemas import ReviewRequest
from app.reviews.service import record_review
from tests import factories

# factories.NOW is Tuesday 10 March 2026: Saturday the 7th and Sunday the 8th were missed.
FRIDAY, SATURDAY, SUNDAY, MONDAY = date(2026, 3, 6), date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)
NCTR = {"meets_criteria_to_reside": False, "delay_reason_code": "CAP03", "day_status": "red",
        "red_day_reason_code": "waiting_external"}  # fmt: skip


@pytest.fixture
def stay(db, ward, nurse_principal, now):
    """In since Thursday; met criteria on Friday; no criteria to reside on Monday and today."""
    stay = factories.make_stay(db, nurse_principal, ward, factories.beds_of(db, ward)[0],
                               admitted_at=now - timedelta(days=5))  # fmt: skip
    record_review(db, actor=nurse_principal, stay=stay, now=now - timedelta(days=4),
                  data=ReviewRequest(meets_criteria_to_reside=True, day_status="green", pathway=0))  # fmt: skip
    for days_ago in (1, 0):
        record_review(db, actor=nurse_principal, stay=stay, now=now - timedelta(days=days_ago),
                      data=ReviewRequest(**NCTR))  # fmt: skip
    db.flush()
    assert stay.discharge_ready_date == MONDAY
    return stay


@pytest.fixture
def doctor(db, ward):
    return factories.make_user(db, "doctor", wards=[ward], display_name="Dr Late")


def test_a_doctor_fills_in_the_weekend_and_the_drd_moves_back(db, api_as, stay, doctor, now):
    r = api_as(doctor).post(
        f"/stays/{stay.id}/reviews",
        json=NCTR | {"review_date": SATURDAY.isoformat(), "late_entry_reason": "Weekend round not recorded",
                     "pathway": 2},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    review = r.json()
    assert review["review_date"] == "2026-03-07" and review["late_entry_reason"] == "Weekend round not recorded"
    assert review["reviewed_at"].startswith("2026-03-10T11:00")  # when it was written, not the day it is for
    db.expire_all()
    stay = db.get(Stay, stay.id)
    # Saturday starts the run of "no criteria to reside" (Sunday, unrecorded, carries Saturday's state).
    assert stay.discharge_ready_date == SATURDAY
    assert stay.pathway == 2  # the latest pathway anyone gave: Monday and today gave none
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "late_review")).one()
    assert event.actor_id == doctor.id and event.after["review_date"] == "2026-03-07"
    assert event.after["late_entry_reason"] == "Weekend round not recorded"
    drd = db.exec(select(AuditEvent).where(AuditEvent.action == "update_from_review").order_by(AuditEvent.id.desc()))
    assert drd.first().after == {"discharge_ready_date": "2026-03-07", "pathway": 2}


def test_a_late_entrys_pathway_does_not_undo_a_later_days(db, stay, doctor, nurse_principal, now):
    today = db.exec(
        select(DailyReview).where(DailyReview.stay_id == stay.id, DailyReview.review_date == now.date())
    ).one()
    record_review(
        db, actor=nurse_principal, stay=stay, now=now, data=ReviewRequest(**NCTR, pathway=1, version=today.version)
    )
    record_review(db, actor=factories.principal(db, doctor), stay=stay, now=now,
                  data=ReviewRequest(**NCTR, pathway=3, review_date=SUNDAY, late_entry_reason="Missed"))  # fmt: skip
    assert stay.pathway == 1 and stay.discharge_ready_date == SUNDAY


def test_who_may_and_what_is_refused(db, api_as, stay, doctor, nurse):
    url = f"/stays/{stay.id}/reviews"
    late = NCTR | {"review_date": SUNDAY.isoformat(), "late_entry_reason": "Missed"}
    r = api_as(nurse).post(url, json=late)
    assert r.status_code == 403 and "senior roles" in r.json()["error"]["message"]
    client = api_as(doctor)
    for body, field, message in (
        (late | {"late_entry_reason": ""}, "late_entry_reason", "Say why this review is recorded late"),
        (late | {"review_date": "2026-03-11"}, "review_date", "A review cannot be recorded for a day still to come"),
        (late | {"review_date": "2026-03-04"}, "review_date", "That day is before the patient was admitted"),
        (late | {"review_date": "2026-03-10"}, "late_entry_reason", "A late-entry reason is only given for an earlier day"),
    ):  # fmt: skip
        r = client.post(url, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["fields"] == [{"field": field, "message": message}]
    r = client.post(url, json=late | {"review_date": MONDAY.isoformat()})
    assert r.status_code == 409 and r.json()["error"]["message"].startswith("That day already has a review")
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "late_review")).all() == []


def test_at_most_a_week_back(db, api_as, ward, doctor, nurse_principal, now):
    stay = factories.make_stay(db, nurse_principal, ward, None, admitted_at=now - timedelta(days=20))
    client = api_as(doctor)
    body = NCTR | {"late_entry_reason": "Missed"}
    r = client.post(f"/stays/{stay.id}/reviews", json=body | {"review_date": "2026-03-02"})
    assert r.status_code == 422 and r.json()["error"]["message"] == "A late entry can be at most 7 days back"
    assert client.post(f"/stays/{stay.id}/reviews", json=body | {"review_date": "2026-03-03"}).status_code == 201


def test_the_stored_metrics_days_follow_a_late_entry(db, ward, stay, doctor, now):
    ward_days.refresh(db, [ward.id], FRIDAY, MONDAY, now=now)

    def day(d: date) -> MetricsDay:
        db.expire_all()
        return db.get(MetricsDay, (ward.id, d))

    assert (day(SATURDAY).reviewed, day(SUNDAY).nctr) == (0, 0)
    record_review(db, actor=factories.principal(db, doctor), stay=stay, now=now,
                  data=ReviewRequest(**NCTR, review_date=SATURDAY, late_entry_reason="Weekend"))  # fmt: skip
    db.flush()
    assert db.exec(select(MetricsStale)).all() != []  # the closed days it changes are marked
    ward_days.refresh(db, [ward.id], FRIDAY, MONDAY, now=now)
    # Saturday now has its review; on Sunday's census the latest review had found no criteria to reside.
    assert (day(SATURDAY).reviewed, day(SUNDAY).nctr) == (1, 1)
    assert day(FRIDAY).reviewed == 1 and day(MONDAY).nctr == 1
