"""What "no change" cannot confirm on its own, and the EDD's limits: refused by the service, so
the JSON API and the tablet's form say the same (issue 11)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from app.models import BoardRound, DailyReview, Stay
from app.rounds.schemas import RoundStart
from app.rounds.service import start_round
from tests import factories


@pytest.fixture
def board_round(db, ward, nurse_principal, now) -> BoardRound:
    return start_round(db, actor=nurse_principal, ward=ward, data=RoundStart(), now=now - timedelta(minutes=5))


@pytest.fixture
def stay(db, ward, nurse_principal, now) -> Stay:
    bed = factories.beds_of(db, ward)[0]
    return factories.make_stay(db, nurse_principal, ward, bed, admitted_at=now - timedelta(days=9))


def url(board_round: BoardRound, stay: Stay) -> str:
    return f"/rounds/{board_round.id}/stays/{stay.id}"


def fields_of(response) -> dict[str, str]:
    return {f["field"]: f["message"] for f in response.json()["error"]["fields"]}


def test_no_change_on_a_passed_edd_asks_for_a_new_date(db, api, board_round, stay, nurse_principal, now):
    factories.make_edd(db, nurse_principal, stay, date(2026, 3, 8), now=now - timedelta(days=4))
    factories.make_review(db, nurse_principal, stay, now=now - timedelta(days=1))
    r = api.post(url(board_round, stay), json={"stay_version": stay.version, "no_change": True})
    assert r.status_code == 422, r.text
    assert "has passed" in fields_of(r)["expected_discharge_date"]
    assert db.exec(select(DailyReview).where(DailyReview.review_date == date(2026, 3, 10))).first() is None

    # The one thing needed: a new date (and, as for any change, why).
    body = {"stay_version": stay.version, "no_change": True, "expected_discharge_date": "2026-03-13"}
    r = api.post(url(board_round, stay), json=body | {"edd_reason": "Waiting for the echo"})
    assert r.status_code == 200, r.text
    assert r.json()["stay"]["expected_discharge_date"] == "2026-03-13"
    assert r.json()["entry"]["outcome"] == "no_change"


def test_no_change_on_a_reason_given_days_ago_asks_to_confirm_it(db, api, board_round, stay, nurse_principal, now):
    factories.make_review(db, nurse_principal, stay, meets=False, now=now - timedelta(days=3))
    r = api.post(url(board_round, stay), json={"stay_version": stay.version, "no_change": True})
    assert r.status_code == 422, r.text
    assert "confirm it still holds" in fields_of(r)["confirm_delay_reason"]

    body = {"stay_version": stay.version, "no_change": True, "confirm_delay_reason": True}
    r = api.post(url(board_round, stay), json=body)
    assert r.status_code == 200, r.text
    assert r.json()["review"]["delay_reason_code"] == "CAP01"


def test_yesterdays_reason_and_a_future_edd_need_nothing_more(db, api, board_round, stay, nurse_principal, now):
    factories.make_edd(db, nurse_principal, stay, date(2026, 3, 12), now=now - timedelta(days=1))
    factories.make_review(db, nurse_principal, stay, meets=False, now=now - timedelta(days=1))
    r = api.post(url(board_round, stay), json={"stay_version": stay.version, "no_change": True})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("edd", "says"),
    [("2027-03-12", "more than a year ahead"), ("2026-02-28", "before the day of admission")],
)
def test_an_edd_more_than_a_year_ahead_or_before_admission_is_refused(db, api, board_round, stay, edd, says):
    body = {
        "stay_version": stay.version,
        "review": {"meets_criteria_to_reside": True, "day_status": "green"},
        "expected_discharge_date": edd,
    }
    r = api.post(url(board_round, stay), json=body)
    assert r.status_code == 422, r.text
    assert says in fields_of(r)["expected_discharge_date"]
    # The stay's own EDD route: the same rule, the same words.
    r = api.put(f"/stays/{stay.id}/edd", json={"expected_discharge_date": edd, "version": stay.version})
    assert r.status_code == 422, r.text
    assert says in fields_of(r)["expected_discharge_date"]


def test_a_year_ahead_to_the_day_is_allowed(db, api, board_round, stay):
    body = {
        "stay_version": stay.version,
        "review": {"meets_criteria_to_reside": True, "day_status": "green"},
        "expected_discharge_date": (date(2026, 3, 10) + timedelta(days=366)).isoformat(),
    }
    assert api.post(url(board_round, stay), json=body).status_code == 200
