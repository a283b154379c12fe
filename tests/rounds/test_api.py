"""POST /api/v1/rounds/{id}/stays/{stay_id}: the round step over real HTTP, the same service as the form."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, col, func, select

from app.models import (
    Action,
    AuditEvent,
    BoardRound,
    BoardRoundEntry,
    DailyReview,
    EddChange,
    Escalation,
    ReviewCriterion,
    Stay,
)
from app.reviews.schemas import ReviewRequest
from app.reviews.service import record_review
from app.rounds.schemas import RoundStart
from app.rounds.service import start_round
from app.stays.service import set_edd
from tests import factories

TODAY = date(2026, 3, 10)
WRITTEN = (AuditEvent, DailyReview, ReviewCriterion, EddChange, Action, Escalation, BoardRoundEntry)


@pytest.fixture
def board_round(db, ward, nurse_principal, now) -> BoardRound:
    return start_round(db, actor=nurse_principal, ward=ward, data=RoundStart(), now=now - timedelta(minutes=5))


def url(board_round: BoardRound, stay: Stay) -> str:
    return f"/rounds/{board_round.id}/stays/{stay.id}"


def answers(stay: Stay, **extra) -> dict:
    return {
        "stay_version": stay.version,
        "review": {"meets_criteria_to_reside": True, "criteria": ["02"], "day_status": "green", "pathway": 1},
    } | extra


def counts(db: Session) -> dict[str, int]:
    db.expire_all()
    return {t.__name__: db.exec(select(func.count()).select_from(t)).one() for t in WRITTEN}


def test_a_step_writes_review_edd_stay_answers_action_escalation_and_entry_with_audit(
    db, api, nurse, board_round, ward_with_patients, now
):
    stay = ward_with_patients[0]
    body = answers(
        stay,
        expected_discharge_date="2026-03-14",
        edd_reason="Still on oxygen",
        what_matters="Home for her cat",
        actions=[{"description": "Repeat chest X-ray", "owner_role_code": "doctor", "due_at": "2026-03-10T15:00:00Z"}],
        escalation={"category_code": "capacity", "help_needed": "Needs P1 package"},
    )
    last_event = db.exec(select(func.max(AuditEvent.id))).one()
    r = api.post(url(board_round, stay), json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    db.refresh(stay)
    assert r.headers["etag"] == f'"{stay.version}"' and out["stay"]["version"] == stay.version
    assert out["entry"]["outcome"] == "reviewed" and out["entry"]["board_round_id"] == board_round.id
    assert out["review"]["review_date"] == "2026-03-10" and out["review"]["criteria"] == ["02"]
    assert out["stay"]["expected_discharge_date"] == "2026-03-14" and out["stay"]["pathway"] == 1
    assert [a["description"] for a in out["actions"]] == ["Repeat chest X-ray"]
    assert out["escalation"]["category_code"] == "capacity" and out["escalation"]["events"][0]["kind"] == "raised"

    review = db.exec(select(DailyReview).where(DailyReview.stay_id == stay.id, DailyReview.review_date == TODAY)).one()
    assert review.meets_criteria_to_reside and review.reviewed_by_id == nurse.id
    assert stay.expected_discharge_date == date(2026, 3, 14) and stay.what_matters == "Home for her cat"
    edd = db.exec(select(EddChange).where(EddChange.stay_id == stay.id).order_by(col(EddChange.id).desc())).first()
    assert (edd.old_date, edd.new_date, edd.reason) == (date(2026, 3, 12), date(2026, 3, 14), "Still on oxygen")
    action = db.exec(select(Action).where(Action.stay_id == stay.id)).one()
    assert action.board_round_id == board_round.id
    assert db.exec(select(Escalation).where(Escalation.stay_id == stay.id)).one().help_needed == "Needs P1 package"
    entry = db.exec(select(BoardRoundEntry).where(BoardRoundEntry.stay_id == stay.id)).one()
    assert entry.outcome == "reviewed" and entry.actor_id == nurse.id and entry.seconds == 300

    events = db.exec(select(AuditEvent).where(AuditEvent.id > last_event)).all()
    assert {(e.action, e.entity_type) for e in events} >= {
        ("record_review", "dailyreview"),
        ("update_from_review", "stay"),
        ("set_edd", "stay"),
        ("update", "stay"),
        ("create", "action"),
        ("raise_escalation", "escalation"),
    }
    assert all(e.actor_id == nurse.id and e.occurred_at == now and e.patient_id == stay.patient_id for e in events)


def test_the_stay_answers_left_out_are_kept(db, api, board_round, ward_with_patients):
    stay = ward_with_patients[0]
    stay.what_matters = "Her garden"
    db.flush()
    r = api.post(url(board_round, stay), json=answers(stay))
    assert r.status_code == 200, r.text
    db.refresh(stay)
    assert stay.what_matters == "Her garden" and stay.expected_discharge_date == date(2026, 3, 12)
    assert r.json()["actions"] == [] and r.json()["escalation"] is None


def test_no_change_confirms_the_last_review(db, api, board_round, ward_with_patients):
    stay = ward_with_patients[1]
    r = api.post(url(board_round, stay), json={"stay_version": stay.version, "no_change": True})
    assert r.status_code == 200, r.text
    assert r.json()["entry"]["outcome"] == "no_change"
    review = r.json()["review"]
    assert review["review_date"] == "2026-03-10" and review["meets_criteria_to_reside"] is False
    assert review["delay_reason_code"] == "CAP01" and review["plan"] == "Awaiting reablement"


def test_no_change_needs_an_earlier_review_and_excludes_answers(db, api, board_round, ward, nurse_principal):
    stay = factories.make_stay(db, nurse_principal, ward, None)
    before = counts(db)
    r = api.post(url(board_round, stay), json={"stay_version": stay.version, "no_change": True})
    assert r.status_code == 422
    assert r.json()["error"]["fields"] == [
        {"field": "no_change", "message": "There is no earlier review to confirm: answer the questions"}
    ]
    r = api.post(url(board_round, stay), json=answers(stay, no_change=True))
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "review"
    r = api.post(url(board_round, stay), json={"stay_version": stay.version})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "review"
    assert counts(db) == before


def test_another_wards_patient_or_one_off_the_rounds_ward_is_not_found(
    db, api, api_as, board_round, ward, ward_with_patients
):
    flow = factories.principal(db, factories.make_user(db, "flow_coordinator"))
    other_ward = factories.make_ward(db, beds=1)  # not the nurse's
    elsewhere = factories.make_stay(db, flow, other_ward, None)
    their_round = start_round(db, actor=flow, ward=other_ward, data=RoundStart(), now=board_round.started_at)
    second_ward = factories.make_ward(db, beds=1)
    both_wards = api_as(factories.make_user(db, "nurse", wards=[ward, second_ward]))  # its token is audited
    off_the_round = factories.make_stay(db, flow, second_ward, None)
    stay = ward_with_patients[0]
    before = counts(db)

    missing = api.post(f"/rounds/{board_round.id}/stays/{2**31 - 1}", json=answers(stay))
    r = api.post(url(board_round, elsewhere), json=answers(elsewhere))
    assert r.status_code == 404 and r.json() == missing.json()
    missing_round = api.post(f"/rounds/{2**31 - 1}/stays/{stay.id}", json=answers(stay))
    r = api.post(url(their_round, stay), json=answers(stay))
    assert r.status_code == 404 and r.json() == missing_round.json()
    r = both_wards.post(url(board_round, off_the_round), json=answers(off_the_round))
    assert r.status_code == 404 and r.json()["error"]["message"] == "That patient is not on this round's ward"
    assert counts(db) == before


def test_a_stale_stay_version_is_409_with_the_current_state(db, api, board_round, ward, ward_with_patients, now):
    stay = ward_with_patients[0]
    seen = stay.version
    doctor = factories.principal(db, factories.make_user(db, "doctor", wards=[ward], display_name="Dr Dee"))
    set_edd(db, actor=doctor, stay=stay, new_date=date(2026, 3, 11), reason="Improving", expected_version=seen, now=now)
    db.flush()
    before = counts(db)
    r = api.post(url(board_round, stay), json=answers(stay, stay_version=seen, what_matters="Mine"))
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "stale_version" and error["fields"][0]["field"] == "stay_version"
    assert error["detail"]["current"]["expected_discharge_date"] == "2026-03-11"
    assert error["detail"]["current"]["version"] == stay.version
    assert error["detail"]["changed_by"]["name"] == "Dr Dee"
    assert counts(db) == before
    db.refresh(stay)
    assert stay.what_matters == ""
    # With the version just read, the same answers go through; If-Match works as well.
    r = api.post(url(board_round, stay), json=answers(stay, stay_version=None), headers={"If-Match": f'"{seen}"'})
    assert r.status_code == 409
    r = api.post(
        url(board_round, stay), json=answers(stay, stay_version=None), headers={"If-Match": f'"{stay.version}"'}
    )
    assert r.status_code == 200, r.text


def test_missing_versions_are_428(db, api, board_round, ward_with_patients, nurse_principal, now):
    stay = ward_with_patients[0]
    before = counts(db)
    r = api.post(url(board_round, stay), json=answers(stay, stay_version=None))
    assert r.status_code == 428
    assert r.json()["error"]["code"] == "version_required"
    assert r.json()["error"]["fields"][0]["field"] == "stay_version"
    assert counts(db) == before
    # Today's review exists: replacing it needs its version too.
    review, _, _ = record_review(
        db,
        actor=nurse_principal,
        stay=stay,
        now=now - timedelta(minutes=1),
        data=ReviewRequest(meets_criteria_to_reside=True, day_status="green", plan="Theirs"),
    )
    db.flush()
    db.refresh(stay)
    before = counts(db)
    r = api.post(url(board_round, stay), json=answers(stay))
    assert r.status_code == 428 and r.json()["error"]["fields"][0]["field"] == "review_version"
    assert counts(db) == before
    r = api.post(url(board_round, stay), json=answers(stay, review_version=review.version + 1))
    assert r.status_code == 409 and r.json()["error"]["fields"][0]["field"] == "review_version"
    assert r.json()["error"]["detail"]["current"]["plan"] == "Theirs"
    assert counts(db) == before
    r = api.post(url(board_round, stay), json=answers(stay, review_version=review.version))
    assert r.status_code == 200, r.text
    db.refresh(review)
    assert review.plan == "" and review.pathway == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"review": {"meets_criteria_to_reside": False, "day_status": "green"}},
            "review.delay_reason_code",
            "Say why the patient is still here (delay reason)",
        ),
        ({"review": {"meets_criteria_to_reside": True, "day_status": "purple"}}, "review.day_status", None),
        ({"expected_discharge_date": "2026-03-15"}, "edd_reason", "Say why the expected discharge date is changing"),
        ({"expected_discharge_date": None}, "expected_discharge_date", "Enter the expected discharge date"),
        ({"expected_discharge_date": "2026-02-01", "edd_reason": "x"}, "expected_discharge_date", None),
        ({"choice_deadline": "9999-12-31"}, "choice_deadline", None),
        ({"actions": [{"description": "X-ray", "owner_role_code": "wizard"}]}, "actions.0.owner_role_code", None),
        ({"actions": [{"description": "X-ray"}]}, "actions.0.owner_role_code", "Field required"),
        ({"escalation": {"category_code": "nope", "help_needed": "x"}}, "escalation.category_code", None),
        ({"escalation": {"category_code": "capacity", "help_needed": " "}}, "escalation.help_needed", None),
    ],
)
def test_bad_answers_are_422_named_by_the_requests_fields(
    db, api, board_round, ward_with_patients, change, field, message
):
    stay = ward_with_patients[0]
    before = counts(db)
    r = api.post(url(board_round, stay), json=answers(stay) | change)
    assert r.status_code == 422, r.text
    fields = r.json()["error"]["fields"]
    assert fields[0]["field"] == field, fields
    if message:
        assert fields[0]["message"] == message
    assert counts(db) == before  # all or nothing: the review before the broken rule is not kept


def test_a_retry_with_the_same_idempotency_key_writes_once(db, api, board_round, ward_with_patients):
    stay = ward_with_patients[0]
    body = answers(stay, actions=[{"description": "Book transport", "owner_role_code": "nurse"}])
    first = api.post(url(board_round, stay), json=body, headers={"Idempotency-Key": "step-1"})
    assert first.status_code == 200, first.text
    again = api.post(url(board_round, stay), json=body, headers={"Idempotency-Key": "step-1"})
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
    assert db.exec(select(func.count()).select_from(Action)).one() == 1


def test_the_openapi_entry_documents_the_errors(api):
    operation = api.get("/openapi.json").json()["paths"]["/api/v1/rounds/{round_id}/stays/{stay_id}"]["post"]
    assert operation["summary"] == "Record one patient's turn at the board round"
    assert "no_change" in operation["description"]
    assert {"200", "404", "409", "422", "428"} <= set(operation["responses"])
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("RoundStepPublic")
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("RoundStepRequest")
