"""Corrections to a discharged stay's times keep its ward history in step, on both databases.

The stay (times UTC; July is BST, so the London clock is an hour ahead): admitted to A 1 Jul 09:00,
moved to B 2 Jul 13:05 (14:05 in London), discharged home from B 3 Jul 15:00.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from app.adt.corrections import cancel_admission
from app.core.errors import RuleViolation
from app.models import AuditEvent, Stay, StayLocation
from app.stays import service
from tests import factories
from tests.metrics.scenario import leave, review


def jul(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 7, day, hour, minute, tzinfo=UTC)


NOW = datetime(2025, 7, 20, 12, tzinfo=UTC)


@pytest.fixture
def wards(db):
    site = factories.make_site(db)
    return factories.make_ward(db, site=site, beds=2), factories.make_ward(db, site=site, beds=2)


@pytest.fixture
def manager(db, wards):
    return factories.make_user(db, "ward_manager", wards=list(wards))


@pytest.fixture
def actor(db, manager):
    return factories.principal(db, manager)


def moved(db, actor, wards, *, discharged: bool = True) -> Stay:
    a, b = wards
    stay = factories.make_stay(db, actor, a, None, admitted_at=jul(1, 9), now=jul(1, 9))
    service.transfer(db, actor=actor, stay=stay, ward_id=b.id, bed_id=None, at=jul(2, 13, 5),
                     expected_version=stay.version, now=jul(2, 13, 5))  # fmt: skip
    if discharged:
        leave(db, actor, stay, jul(3, 15), "19", 0)
    db.flush()
    return stay


def history(db, stay) -> list[tuple[int, datetime, datetime | None]]:
    rows = db.exec(select(StayLocation).where(StayLocation.stay_id == stay.id).order_by(StayLocation.started_at))
    return [(r.ward_id, r.started_at, r.ended_at) for r in rows]


def correct(db, actor, stay, **changes):
    return service.correct_discharged_stay(
        db, actor=actor, stay=stay, changes=changes, reason="PAS time was wrong", expected_version=stay.version,
        now=NOW,
    )  # fmt: skip


def test_a_corrected_admission_and_discharge_move_the_ends_of_the_ward_history(db, wards, actor):
    a, b = wards
    stay = moved(db, actor, wards)
    correct(db, actor, stay, admitted_at=jul(1, 20), discharged_at=jul(2, 18))
    assert history(db, stay) == [(a.id, jul(1, 20), jul(2, 13, 5)), (b.id, jul(2, 13, 5), jul(2, 18))]
    correct(db, actor, stay, admitted_at=jul(1, 6), discharged_at=jul(5, 10))
    assert history(db, stay) == [(a.id, jul(1, 6), jul(2, 13, 5)), (b.id, jul(2, 13, 5), jul(5, 10))]


def test_a_stay_on_one_ward_moves_both_ends_of_its_one_row(db, wards, actor):
    a, _ = wards
    stay = factories.make_stay(db, actor, a, None, admitted_at=jul(1, 9), now=jul(1, 9))
    leave(db, actor, stay, jul(3, 15), "19", 0)
    correct(db, actor, stay, admitted_at=jul(1, 11), discharged_at=jul(2, 8))
    assert history(db, stay) == [(a.id, jul(1, 11), jul(2, 8))]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"discharged_at": jul(2, 12)},
            "discharged_at",
            "The patient moved ward at 14:05 on 2 Jul 2025: a discharge before that cannot be recorded here; "
            "correct the transfer first",
        ),
        (
            {"admitted_at": jul(2, 14)},
            "admitted_at",
            "The patient moved ward at 14:05 on 2 Jul 2025: an admission after that cannot be recorded here; "
            "correct the transfer first",
        ),
    ],
    ids=["discharge_before_the_move", "admission_after_the_move"],
)
def test_a_correction_across_a_move_is_refused_and_changes_nothing(db, wards, actor, changes, field, message):
    stay = moved(db, actor, wards)
    before = history(db, stay), stay.admitted_at, stay.discharged_at, stay.version
    with pytest.raises(RuleViolation) as refused:
        correct(db, actor, stay, **changes)
    assert (refused.value.field, refused.value.message) == (field, message)
    db.flush()
    assert (history(db, stay), stay.admitted_at, stay.discharged_at, stay.version) == before


def test_a_bed_move_is_named_as_one(db, wards, actor):
    a, _ = wards
    first, second = factories.beds_of(db, a)
    stay = factories.make_stay(db, actor, a, first, admitted_at=jul(1, 9), now=jul(1, 9))
    service.transfer(db, actor=actor, stay=stay, ward_id=a.id, bed_id=second.id, at=jul(2, 13, 5),
                     expected_version=stay.version, now=jul(2, 13, 5))  # fmt: skip
    leave(db, actor, stay, jul(3, 15), "19", 0)
    with pytest.raises(RuleViolation, match=r"^The patient moved bed at 14:05 on 2 Jul 2025: a discharge before"):
        correct(db, actor, stay, discharged_at=jul(2, 13))


def test_a_discharge_before_the_last_move_is_refused(db, wards, actor):
    """Not ended silently after the discharge, as the ward history used to be."""
    stay = moved(db, actor, wards, discharged=False)
    with pytest.raises(RuleViolation) as refused:
        leave(db, actor, stay, jul(2, 12), "19", 0)
    assert refused.value.field == "discharged_at"
    assert refused.value.message == (
        "The patient moved ward at 14:05 on 2 Jul 2025: a discharge before that cannot be recorded: check both times"
    )
    assert stay.discharged_at is None and history(db, stay)[-1][2] is None


def test_a_cancelled_admission_ends_no_earlier_than_the_last_move(db, wards, actor):
    """A11 with an event time before the last move: the stay (kept for its review) and its ward
    history end together, at the move."""
    stay = moved(db, actor, wards, discharged=False)
    review(db, actor, stay, jul(2, 16), meets=True)
    assert cancel_admission(db, actor=actor, stay=stay, at=jul(2, 10), now=NOW) == "ended"
    assert stay.discharged_at == jul(2, 13, 5) == history(db, stay)[-1][2]


@pytest.mark.parametrize("field", ["admitted_at", "discharged_at"])
def test_a_time_corrected_to_nothing_is_a_field_error(db, wards, actor, field):
    stay = moved(db, actor, wards)
    with pytest.raises(RuleViolation) as refused:
        correct(db, actor, stay, **{field: None})
    assert refused.value.field == field


def test_an_admission_corrected_into_the_future_is_refused(db, wards, actor):
    stay = moved(db, actor, wards)
    with pytest.raises(RuleViolation, match="future") as refused:
        service.correct_discharged_stay(
            db, actor=actor, stay=stay, changes={"admitted_at": jul(4, 9)}, reason="x",
            expected_version=stay.version, now=jul(3, 16),
        )  # fmt: skip
    assert refused.value.field == "admitted_at"


def test_the_audit_record_has_the_ward_history_before_and_after(db, wards, actor, manager):
    a, b = wards
    stay = moved(db, actor, wards)
    correct(db, actor, stay, admitted_at=jul(1, 8), discharged_at=jul(3, 11))
    event = db.exec(
        select(AuditEvent).where(AuditEvent.action == "correct", AuditEvent.entity_id == str(stay.id))
    ).one()
    assert (event.actor_id, event.ward_id, event.patient_id) == (manager.id, b.id, stay.patient_id)
    assert event.before == {
        "admitted_at": jul(1, 9).isoformat(),
        "discharged_at": jul(3, 15).isoformat(),
        "ward_history_started_at": jul(1, 9).isoformat(),
        "ward_history_ended_at": jul(3, 15).isoformat(),
    }
    assert event.after == {
        "admitted_at": jul(1, 8).isoformat(),
        "discharged_at": jul(3, 11).isoformat(),
        "ward_history_started_at": jul(1, 8).isoformat(),
        "ward_history_ended_at": jul(3, 11).isoformat(),
        "reason": "PAS time was wrong",
    }


def test_the_correction_endpoint_end_to_end(db, wards, api_as, manager, clock):
    """Over HTTP: the stay, its ward history and the next morning's NCTR snapshot follow the
    corrected discharge; a correction across the move answers 422 naming the field."""
    a, b = wards
    actor = factories.principal(db, manager)
    stay = moved(db, actor, wards)
    clock.at = NOW
    api = api_as(manager)
    snapshot = {"date": "2025-07-03", "ward_id": b.id}
    assert sum(api.get("/metrics/nctr-snapshot", params=snapshot).json()["in_hospital"].values()) == 1

    refused = api.post(
        f"/stays/{stay.id}/correction",
        json={"discharged_at": "2025-07-02T13:00:00+01:00", "reason": "PAS time was wrong", "version": stay.version},
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["fields"] == [
        {
            "field": "discharged_at",
            "message": "The patient moved ward at 14:05 on 2 Jul 2025: a discharge before that cannot be recorded "
            "here; correct the transfer first",
        }
    ]

    r = api.post(
        f"/stays/{stay.id}/correction",
        json={"discharged_at": "2025-07-02T18:00:00+01:00", "reason": "PAS time was wrong", "version": stay.version},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert datetime.fromisoformat(body["stay"]["discharged_at"]) == jul(2, 17)
    assert [(x["ward_id"], datetime.fromisoformat(x["ended_at"])) for x in body["locations"]] == [
        (a.id, jul(2, 13, 5)),
        (b.id, jul(2, 17)),
    ]
    assert api.get("/metrics/nctr-snapshot", params=snapshot).json()["in_hospital"] == {}
