"""The round step's form: several delay reasons (one primary), the override and its reason, the
senior review, and the live red/green indicator's endpoint."""

from __future__ import annotations

from sqlmodel import select

from app.models import DailyReview, ReviewDelayReason
from tests import factories
from tests.rounds.test_views import step_form


def _step(db, browser, nurse_principal, ward):
    board_round = factories.make_round(db, nurse_principal, ward)
    stay = factories.make_stay(db, nurse_principal, ward, None)
    db.flush()
    url = f"/rounds/{board_round.id}/stays/{stay.id}"
    return stay, url, step_form(browser.get(url).text)


def test_several_delay_reasons_from_the_form_with_one_primary(db, browser_as, nurse, nurse_principal, ward):
    browser = browser_as(nurse)
    stay, url, values = _step(db, browser, nurse_principal, ward)
    answers = values | {"meets": "no", "delay_reason_code": "", "expected_discharge_date": "2026-03-14"}
    r = browser.post(url, [*answers.items(), ("other_delay_reasons", "CAP04")])
    assert r.status_code == 422 and "Choose the main delay reason" in r.text
    assert 'value="CAP04" checked' in r.text  # what was ticked is kept

    answers |= {"delay_reason_code": "IP01"}
    r = browser.post(url, [*answers.items(), ("other_delay_reasons", "CAP04"), ("other_delay_reasons", "WB02")])
    assert r.status_code == 303, r.text
    review = db.exec(select(DailyReview).where(DailyReview.stay_id == stay.id)).one()
    assert (review.delay_reason_code, review.day_status) == ("IP01", "red")
    rows = db.exec(select(ReviewDelayReason).where(ReviewDelayReason.review_id == review.id)).all()
    assert sorted((x.reason_code, x.is_primary) for x in rows) == [("CAP04", False), ("IP01", True), ("WB02", False)]


def test_override_on_the_form_needs_a_reason(db, browser_as, nurse, nurse_principal, ward):
    browser = browser_as(nurse)
    stay, url, values = _step(db, browser, nurse_principal, ward)
    answers = values | {"meets": "yes", "day_status": "red", "expected_discharge_date": "2026-03-14"}
    r = browser.post(url, answers)
    assert r.status_code == 422
    assert 'id="day_status_override_reason-error"' in r.text and "say why it is red instead" in r.text
    r = browser.post(url, answers | {"day_status_override_reason": "Scan cancelled", "senior_review_time": "10:40",
                                     "senior_reviewer": "Dr Okafor"})  # fmt: skip
    assert r.status_code == 303, r.text
    review = db.exec(select(DailyReview).where(DailyReview.stay_id == stay.id)).one()
    assert (review.day_status, review.derived_day_status, review.day_status_override_reason) == (
        "red",
        "green",
        "Scan cancelled",
    )
    assert review.senior_reviewer == "Dr Okafor"
    board = browser.get(f"/wards/{ward.code}")
    assert "Senior review 10:40" in board.text and "app-senior-review--early" in board.text


def test_live_indicator_follows_the_answers(db, browser_as, nurse, nurse_principal, ward):
    browser = browser_as(nurse)
    stay = factories.make_stay(db, nurse_principal, ward, None)
    r = browser.get(f"/stays/{stay.id}/red-green", params={"meets": "yes"})
    assert r.status_code == 200 and 'data-status="green"' in r.text
    r = browser.get(f"/stays/{stay.id}/red-green", params={"meets": "no", "delay_reason_code": "IP03"})
    assert 'data-status="red"' in r.text and "(IP03)" in r.text
    r = browser.get(f"/stays/{stay.id}/red-green", params={"meets": "no", "day_status": "green"})
    assert 'data-status="green"' in r.text and "overridden" in r.text
    r = browser.get(f"/stays/{stay.id}/red-green", params={"meets": "maybe"})
    assert r.status_code == 200 and 'data-status=""' in r.text
