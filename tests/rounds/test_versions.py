"""The round-step forms carry the versions they were drawn at: no fallback, no silent overwrite."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import func, select

from app.models import AuditEvent, BoardRound, DailyReview, EddChange
from app.reviews.schemas import ReviewRequest
from app.reviews.service import record_review
from tests import factories
from tests.rounds.test_views import step_form

TODAY = date(2026, 3, 10)


def written(db) -> tuple[int, int, int]:  # noqa: ANN001
    db.expire_all()
    return tuple(db.exec(select(func.count()).select_from(t)).one() for t in (AuditEvent, DailyReview, EddChange))


def todays(db, stay) -> DailyReview | None:  # noqa: ANN001
    db.expire_all()
    return db.exec(select(DailyReview).where(DailyReview.stay_id == stay.id, DailyReview.review_date == TODAY)).first()


def other_review(db, ward, now, plan: str, version: int | None = None):  # noqa: ANN001, ANN201
    """Dr Dee records (or replaces) today's review on another tablet."""
    doctor = factories.principal(db, factories.make_user(db, "doctor", wards=[ward], display_name="Dr Dee"))
    return lambda stay: record_review(
        db,
        actor=doctor,
        stay=stay,
        now=now,
        data=ReviewRequest(meets_criteria_to_reside=True, day_status="green", plan=plan, version=version),
    )[0]


@pytest.mark.parametrize(
    "mangled",
    [
        {"stay_version": None},
        {"stay_version": ""},
        {"stay_version": "abc"},
        {"stay_version": "0"},
        {"review_version": None},
        {"review_version": "x"},
        {"review_version": "99999999999"},
    ],
    ids=lambda m: f"{next(iter(m))}={next(iter(m.values()))!r}",
)
def test_a_form_without_its_versions_comes_back_with_a_message_and_saves_nothing(
    db, browser_as, nurse, ward_with_patients, mangled
):
    browser = browser_as(nurse)
    stay = ward_with_patients[0]
    values = step_form(browser.get(f"/stays/{stay.id}").text) | {"plan": "Typed plan kept", "meets": "no"}
    values |= mangled
    before = written(db)
    r = browser.post(f"/stays/{stay.id}", {k: v for k, v in values.items() if v is not None})
    assert r.status_code == 422
    assert "Reload the page and enter your answers again" in r.text and "Typed plan kept" in r.text
    assert written(db) == before


def test_a_review_recorded_since_the_form_was_drawn_is_shown_not_overwritten(
    db, browser_as, nurse, ward, ward_with_patients, now
):
    browser = browser_as(nurse)
    stay = ward_with_patients[0]
    values = step_form(browser.get(f"/stays/{stay.id}").text) | {"plan": "My careful plan"}
    assert values["review_version"] == ""  # no review yet today
    theirs = other_review(db, ward, now - timedelta(minutes=2), "Their plan")(stay)
    db.flush()

    r = browser.post(f"/stays/{stay.id}", values)
    assert r.status_code == 409
    assert "Dr Dee changed this patient" in r.text and "My careful plan" in r.text
    assert todays(db, stay).plan == "Their plan"
    # The form now carries today's review's version: saving again is a choice made knowingly.
    retry = step_form(r.text) | {"plan": "My careful plan"}
    assert retry["review_version"] == str(theirs.version)
    r = browser.post(f"/stays/{stay.id}", retry)
    assert r.status_code == 200 and "Saved" in r.text
    assert todays(db, stay).plan == "My careful plan"


def test_a_replaced_review_conflicts_once_and_the_new_version_saves(
    db, browser_as, nurse, ward, ward_with_patients, nurse_principal, now
):
    stay = ward_with_patients[0]
    ours, _, _ = record_review(
        db,
        actor=nurse_principal,
        stay=stay,
        now=now - timedelta(minutes=10),
        data=ReviewRequest(meets_criteria_to_reside=True, day_status="green", plan="First"),
    )
    db.flush()
    browser = browser_as(nurse)
    values = step_form(browser.get(f"/stays/{stay.id}").text) | {"plan": "Mine"}
    assert values["review_version"] == str(ours.version)
    other_review(db, ward, now - timedelta(minutes=1), "Theirs", version=ours.version)(stay)
    db.flush()

    r = browser.post(f"/stays/{stay.id}", values)
    assert r.status_code == 409 and "Dr Dee changed this patient" in r.text
    assert "Plan for today: First → Theirs" in r.text
    assert todays(db, stay).plan == "Theirs"
    # The stay itself did not change: only the review's version moves on, and the retry saves.
    retry = step_form(r.text) | {"plan": "Mine"}
    assert retry["stay_version"] == values["stay_version"] and retry["review_version"] != values["review_version"]
    r = browser.post(f"/stays/{stay.id}", retry)
    assert r.status_code == 200, r.text[:500]
    assert todays(db, stay).plan == "Mine"


def test_no_change_after_someone_reviewed_today_is_a_conflict(db, browser_as, nurse, ward, ward_with_patients, now):
    stay = ward_with_patients[0]
    browser = browser_as(nurse)
    browser.post(f"/wards/{ward.code}/rounds/new", [("roles", "nurse")])
    board_round = db.exec(select(BoardRound)).one()
    values = step_form(browser.get(f"/rounds/{board_round.id}/stays/{stay.id}").text)
    other_review(db, ward, now - timedelta(minutes=1), "Their plan")(stay)
    db.flush()
    r = browser.post(f"/rounds/{board_round.id}/stays/{stay.id}/no-change", {"stay_version": values["stay_version"]})
    assert r.status_code == 409 and "Dr Dee changed this patient" in r.text
    assert todays(db, stay).plan == "Their plan"
    r = browser.post(f"/rounds/{board_round.id}/stays/{stay.id}/no-change", {"stay_version": "abc"})
    assert r.status_code == 422 and "Reload the page and enter your answers again" in r.text
