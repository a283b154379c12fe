"""Derived red/green, its override, several delay reasons and the senior review: through the review
service and POST /api/v1/stays/{id}/reviews, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from app.core.clock import london_date
from app.core.errors import RuleViolation
from app.escalations.schemas import EscalationCreate
from app.escalations.service import raise_escalation
from app.models import AuditEvent, DailyReview, DelayReason, ReviewDelayReason
from app.reviews.red_green import ACTION_DELAY_CODES, ESCALATION_DELAY_CODES, REFERRAL_DELAY_CODE
from app.reviews.schemas import ReviewRequest
from app.reviews.service import record_review
from tests import factories


@pytest.fixture
def stay(db, ward, nurse_principal, now):
    return factories.make_stay(db, nurse_principal, ward, None, admitted_at=now - timedelta(days=5))


def record(db, actor, stay, now, **fields):
    return record_review(db, actor=actor, stay=stay, data=ReviewRequest(**fields), now=now)[0]


def test_every_mapped_delay_code_is_on_the_national_list(db):
    codes = set(ACTION_DELAY_CODES.values()) | set(ESCALATION_DELAY_CODES.values()) | {REFERRAL_DELAY_CODE}
    known = set(db.exec(select(DelayReason.code)))
    assert codes <= known


def test_meets_criteria_and_nothing_waiting_is_green(db, nurse_principal, stay, now):
    review = record(db, nurse_principal, stay, now, meets_criteria_to_reside=True, criteria=["02"])
    assert (review.day_status, review.derived_day_status, review.day_status_delay_code) == ("green", "green", None)


def test_no_criteria_to_reside_is_red_with_its_delay_code(db, nurse_principal, stay, now):
    review = record(db, nurse_principal, stay, now, meets_criteria_to_reside=False, delay_reason_code="IP03")
    assert (review.day_status, review.day_status_delay_code, review.day_status_override_reason) == ("red", "IP03", "")


def test_an_overdue_action_or_open_escalation_holds_discharge(db, nurse_principal, stay, now):
    factories.make_action(
        db,
        nurse_principal,
        stay,
        owner_role_code="pharmacist",
        due_at=now - timedelta(hours=1),
        now=now - timedelta(hours=3),
    )
    review = record(db, nurse_principal, stay, now, meets_criteria_to_reside=True)
    assert (review.day_status, review.day_status_delay_code) == ("red", "HP04")

    other = factories.make_stay(db, nurse_principal, stay_ward(db, stay), None, admitted_at=now - timedelta(days=2))
    raise_escalation(
        db, actor=nurse_principal, stay=other, now=now - timedelta(minutes=5),
        data=EscalationCreate(category_code="capacity", help_needed="No reablement slot"),
    )  # fmt: skip
    review = record(db, nurse_principal, other, now, meets_criteria_to_reside=True)
    assert (review.day_status, review.day_status_delay_code) == ("red", "CAP04")


def stay_ward(db, stay):
    from app.models import Ward

    return db.get(Ward, stay.ward_id)


def test_an_override_needs_a_reason_and_is_audited(db, nurse_principal, stay, now):
    with pytest.raises(RuleViolation) as refused:
        record(
            db, nurse_principal, stay, now, meets_criteria_to_reside=False, delay_reason_code="IP03", day_status="green"
        )
    assert refused.value.field == "day_status_override_reason"
    review = record(
        db, nurse_principal, stay, now, meets_criteria_to_reside=False, delay_reason_code="IP03",
        day_status="green", day_status_override_reason="Therapy given today needed the acute bed",
    )  # fmt: skip
    assert (review.day_status, review.derived_day_status) == ("green", "red")
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "record_review")).one()
    assert event.after["day_status_override_reason"] == "Therapy given today needed the acute bed"
    assert event.after["derived_day_status"] == "red" and event.after["day_status"] == "green"


def test_override_without_reason_is_422_with_the_field_over_the_api(db, api, stay):
    r = api.post(f"/stays/{stay.id}/reviews", json={"meets_criteria_to_reside": True, "day_status": "red"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["fields"][0]["field"] == "day_status_override_reason"
    r = api.post(f"/stays/{stay.id}/reviews", json={"meets_criteria_to_reside": True})
    assert r.status_code == 201 and r.json()["day_status"] == "green" and r.json()["derived_day_status"] == "green"


def test_several_delay_reasons_with_one_primary_over_the_api(db, api, stay):
    body = {
        "meets_criteria_to_reside": False,
        "delay_reasons": [{"code": "CAP04", "primary": False}, {"code": "IP01", "primary": True}],
    }
    r = api.post(f"/stays/{stay.id}/reviews", json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["delay_reason_code"] == "IP01" and out["day_status_delay_code"] == "IP01"
    assert [(d["code"], d["primary"], d["list_version"]) for d in out["delay_reasons"]] == [
        ("IP01", True, "2024/25"),
        ("CAP04", False, "2024/25"),
    ]
    rows = db.exec(select(ReviewDelayReason).order_by(ReviewDelayReason.reason_code)).all()
    assert [(x.reason_code, x.is_primary) for x in rows] == [("CAP04", False), ("IP01", True)]
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "record_review")).one()
    assert event.after["delay_reasons"] == ["IP01*", "CAP04"]

    # Replacing it keeps the before and after of the reasons in the audit trail.
    replaced = body | {"delay_reasons": [{"code": "CAP04", "primary": True}], "version": out["version"]}
    r = api.post(f"/stays/{stay.id}/reviews", json=replaced)
    assert r.status_code == 200 and r.json()["delay_reason_code"] == "CAP04"
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "replace_review")).one()
    assert event.before["delay_reasons"] == ["IP01*", "CAP04"] and event.after["delay_reasons"] == ["CAP04*"]


@pytest.mark.parametrize(
    "reasons",
    [
        [{"code": "CAP04"}, {"code": "IP01"}],  # no primary
        [{"code": "CAP04", "primary": True}, {"code": "IP01", "primary": True}],  # two
    ],
)
def test_delay_reasons_need_exactly_one_primary(db, api, stay, reasons):
    r = api.post(f"/stays/{stay.id}/reviews", json={"meets_criteria_to_reside": False, "delay_reasons": reasons})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["fields"][0]["field"] == "delay_reasons"
    assert not db.exec(select(DailyReview)).all()


def test_delay_reason_code_must_name_the_primary(db, api, stay):
    body = {
        "meets_criteria_to_reside": False,
        "delay_reason_code": "CAP04",
        "delay_reasons": [{"code": "IP01", "primary": True}, {"code": "CAP04"}],
    }
    r = api.post(f"/stays/{stay.id}/reviews", json=body)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "delay_reason_code"


@pytest.mark.parametrize(
    ("now_utc", "at_utc", "early"),
    [
        (datetime(2026, 1, 20, 14, 0, tzinfo=UTC), datetime(2026, 1, 20, 11, 40, tzinfo=UTC), True),  # GMT 11:40
        (datetime(2026, 1, 20, 14, 0, tzinfo=UTC), datetime(2026, 1, 20, 12, 10, tzinfo=UTC), False),  # GMT 12:10
        (datetime(2026, 7, 20, 14, 0, tzinfo=UTC), datetime(2026, 7, 20, 10, 40, tzinfo=UTC), True),  # BST 11:40
        (datetime(2026, 7, 20, 14, 0, tzinfo=UTC), datetime(2026, 7, 20, 11, 10, tzinfo=UTC), False),  # BST 12:10
    ],
)
def test_senior_review_before_or_after_midday_in_gmt_and_bst(
    db, api, ward, nurse_principal, clock, now_utc, at_utc, early
):
    clock.at = now_utc
    stay = factories.make_stay(db, nurse_principal, ward, None, admitted_at=now_utc - timedelta(days=3), now=now_utc)
    body = {"meets_criteria_to_reside": True, "senior_reviewer": "Dr Okafor", "senior_reviewed_at": at_utc.isoformat()}
    r = api.post(f"/stays/{stay.id}/reviews", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["senior_reviewer"] == "Dr Okafor"
    assert r.json()["senior_review_before_midday"] is early
    assert london_date(at_utc) == date.fromisoformat(r.json()["review_date"])


def test_senior_review_needs_who_and_a_time_on_the_day(db, api, stay, now):
    r = api.post(f"/stays/{stay.id}/reviews", json={"meets_criteria_to_reside": True, "senior_reviewer": "Dr Okafor"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "senior_reviewed_at"
    yesterday = (now - timedelta(days=1)).isoformat()
    body = {"meets_criteria_to_reside": True, "senior_reviewer": "Dr Okafor", "senior_reviewed_at": yesterday}
    r = api.post(f"/stays/{stay.id}/reviews", json=body)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "senior_reviewed_at"
