"""Daily criteria-to-reside reviews: one per stay per London day, DRD by the national rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from app.core.errors import Conflict, PreconditionRequired, RuleViolation, StaleVersion
from app.models import AuditEvent, DailyReview
from app.reviews import service
from app.reviews.schemas import ReviewRequest
from app.stays import service as stays
from tests import factories


def nctr(**kw) -> ReviewRequest:
    return ReviewRequest(
        meets_criteria_to_reside=False,
        delay_reason_code="HP04",
        day_status="red",
        red_day_reason_code="tto_not_ready",
        **kw,
    )


def meets(**kw) -> ReviewRequest:
    return ReviewRequest(meets_criteria_to_reside=True, criteria=kw.pop("criteria", ["02"]), day_status="green", **kw)


@pytest.fixture
def stay(db, ward, nurse_principal):
    return factories.make_stay(db, nurse_principal, ward, None, admitted_at=datetime(2026, 3, 1, 10, tzinfo=UTC))


def test_review_date_is_the_london_date(db, stay, nurse_principal):
    # 23:30 UTC on 1 July is 00:30 on 2 July in London (BST).
    at = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)
    review, _, _ = service.record_review(db, actor=nurse_principal, stay=stay, data=meets(), now=at)
    assert review.review_date == date(2026, 7, 2)


def test_re_recording_the_same_day_replaces_and_is_audited(db, stay, nurse_principal, now):
    first, _, created = service.record_review(db, actor=nurse_principal, stay=stay, data=meets(), now=now)
    assert created
    second, criteria, created = service.record_review(
        db, actor=nurse_principal, stay=stay, data=nctr(version=first.version), now=now + timedelta(hours=1)
    )
    assert not created and second.id == first.id and criteria == []
    assert db.exec(select(DailyReview).where(DailyReview.stay_id == stay.id)).all() == [second]
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "replace_review")).one()
    assert event.before["meets_criteria_to_reside"] is True and event.before["criteria"] == ["02"]
    assert event.after["meets_criteria_to_reside"] is False and event.after["delay_reason_code"] == "HP04"


def test_replacing_needs_the_version_seen(db, stay, nurse_principal, now):
    first, _, _ = service.record_review(db, actor=nurse_principal, stay=stay, data=meets(), now=now)
    with pytest.raises(PreconditionRequired) as info:
        service.record_review(db, actor=nurse_principal, stay=stay, data=nctr(), now=now + timedelta(hours=1))
    assert info.value.field == "version"
    db.refresh(first)
    assert first.meets_criteria_to_reside is True and first.version == 1
    assert not db.exec(select(AuditEvent).where(AuditEvent.action == "replace_review")).all()


def test_next_day_is_a_new_review(db, stay, nurse_principal, now):
    service.record_review(db, actor=nurse_principal, stay=stay, data=meets(), now=now)
    _, _, created = service.record_review(
        db, actor=nurse_principal, stay=stay, data=meets(), now=now + timedelta(days=1)
    )
    assert created


def test_meets_without_named_criterion_records_code_12(db, stay, nurse_principal, now):
    _, criteria, _ = service.record_review(db, actor=nurse_principal, stay=stay, data=meets(criteria=[]), now=now)
    assert criteria == ["12"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (ReviewRequest(meets_criteria_to_reside=False, day_status="green"), "delay_reason_code"),
        (ReviewRequest(meets_criteria_to_reside=True, day_status="red"), "day_status_override_reason"),
        (
            ReviewRequest(meets_criteria_to_reside=False, delay_reason_code="NOPE", day_status="green"),
            "delay_reason_code",
        ),
        (ReviewRequest(meets_criteria_to_reside=True, criteria=["99"], day_status="green"), "criteria"),
    ],
)
def test_incomplete_reviews_name_the_field(db, stay, nurse_principal, now, data, field):
    with pytest.raises(RuleViolation) as info:
        service.record_review(db, actor=nurse_principal, stay=stay, data=data, now=now)
    assert info.value.field == field


def test_schema_refuses_contradictions():
    with pytest.raises(ValueError, match="delay reason"):
        ReviewRequest(meets_criteria_to_reside=True, delay_reason_code="HP04", day_status="green")
    with pytest.raises(ValueError, match="red-day reason"):
        ReviewRequest(meets_criteria_to_reside=True, day_status="green", red_day_reason_code="no_edd")


def test_discharge_ready_date_follows_the_national_rule(db, stay, nurse_principal):
    day = datetime(2026, 3, 2, 11, tzinfo=UTC)
    service.record_review(db, actor=nurse_principal, stay=stay, data=meets(), now=day)
    assert stay.discharge_ready_date is None
    service.record_review(db, actor=nurse_principal, stay=stay, data=nctr(), now=day + timedelta(days=1))
    assert stay.discharge_ready_date == date(2026, 3, 3)
    # A day without a review carries the state; the DRD stays at the start of the period.
    service.record_review(db, actor=nurse_principal, stay=stay, data=nctr(), now=day + timedelta(days=3))
    assert stay.discharge_ready_date == date(2026, 3, 3)
    # Meets criteria again: no current NCTR period, so no DRD.
    service.record_review(db, actor=nurse_principal, stay=stay, data=meets(), now=day + timedelta(days=4))
    assert stay.discharge_ready_date is None
    # A new NCTR period starts a new DRD.
    service.record_review(db, actor=nurse_principal, stay=stay, data=nctr(), now=day + timedelta(days=5))
    assert stay.discharge_ready_date == date(2026, 3, 7)


def test_review_sets_the_stay_pathway(db, stay, nurse_principal, now):
    service.record_review(db, actor=nurse_principal, stay=stay, data=nctr(pathway=1), now=now)
    assert stay.pathway == 1


def test_replacing_with_a_stale_version_conflicts(db, stay, nurse_principal, now):
    review, _, _ = service.record_review(db, actor=nurse_principal, stay=stay, data=meets(), now=now)
    seen = review.version
    # Another tablet replaces it (the same answers, confirmed later by someone else).
    service.record_review(
        db, actor=nurse_principal, stay=stay, data=meets(version=seen), now=now + timedelta(minutes=5)
    )
    with pytest.raises(StaleVersion):
        service.record_review(
            db, actor=nurse_principal, stay=stay, data=nctr(version=seen), now=now + timedelta(minutes=6)
        )


def test_discharged_stays_are_not_reviewed(db, stay, nurse_principal, now):
    stays.discharge(
        db,
        actor=nurse_principal,
        stay=stay,
        discharged_at=now,
        destination_code="19",
        pathway=0,
        expected_version=stay.version,
        now=now,
    )
    with pytest.raises(Conflict):
        service.record_review(db, actor=nurse_principal, stay=stay, data=meets(), now=now)
