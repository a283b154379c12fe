"""The demo hospital: realistic shape, sound invariants, and the same data for the same seed.

Runs on SQLite and PostgreSQL (the `db` fixture). Builds are small (2 wards, about a week) so
each test stays fast; determinism is checked by building twice inside savepoints and comparing
an id-free fingerprint of every table the generator writes, audit trail included.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import nhs_number
import pytest
from sqlmodel import Session, func, select

from app.auth.passwords import hash_password, verify_password
from app.core.clock import london_date
from app.demo import DEMO_PASSWORD, DemoExists, build_demo
from app.demo.plan import Planner
from app.models import (
    Action,
    AuditEvent,
    Bed,
    BoardRound,
    BoardRoundAttendee,
    DailyReview,
    EddChange,
    Escalation,
    EscalationEvent,
    FailedDischarge,
    FailedDischargeCause,
    Patient,
    ReviewCriterion,
    Stay,
    StayLocation,
    User,
    UserWard,
    Ward,
)

NOW = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
SMALL = {"wards": 2, "beds_per_ward": (10, 12), "days_history": 7}
TINY = {"wards": 2, "beds_per_ward": (6, 8), "days_history": 6}  # for the tests that build twice

# Argon2 is slow on purpose: hash the demo password once for the whole test run.
_hash = functools.cache(hash_password)


def build(db: Session, seed: int = 7, **kw: Any):
    return build_demo(db, seed=seed, now=NOW, hasher=_hash, **(SMALL | kw))


@pytest.fixture
def demo(db: Session):
    return build(db)


def test_shape_of_the_hospital(db: Session, demo):
    assert demo.wards == 2
    assert [w.code for w in db.exec(select(Ward).order_by(Ward.code))] == ["AMU", "W07"]
    open_beds = db.exec(select(func.count()).select_from(Bed).where(Bed.is_open)).one()
    current = db.exec(select(Stay).where(Stay.discharged_at.is_(None))).all()
    assert 0.8 <= len(current) / open_beds <= 1.0  # about 90% occupied
    assert demo.past_stays > len(current)
    today = london_date(NOW)
    los = [(today - london_date(s.admitted_at)).days for s in current]
    assert min(los) <= 1 and max(los) >= 7  # mostly short stays, with a long tail
    assert any(s.expected_discharge_date for s in current)
    assert db.exec(select(func.count()).select_from(StayLocation)).one() > demo.past_stays + len(current)  # transfers
    pathways = Counter(s.pathway for s in db.exec(select(Stay).where(Stay.discharged_at.is_not(None))))
    assert pathways[0] > pathways[1] >= 1
    nctr = db.exec(select(DailyReview).where(DailyReview.meets_criteria_to_reside.is_(False))).all()
    assert nctr and all(r.delay_reason_code for r in nctr)
    assert db.exec(select(DailyReview).where(DailyReview.day_status == "red")).first() is not None
    assert db.exec(select(func.count()).select_from(EddChange).where(EddChange.reason != "")).one() > 0
    failed = db.exec(select(FailedDischarge)).all()
    assert failed
    for fd in failed:
        causes = db.exec(select(FailedDischargeCause).where(FailedDischargeCause.failed_discharge_id == fd.id)).all()
        assert sum(c.is_primary for c in causes) == 1
    rounds = db.exec(select(BoardRound)).all()
    assert rounds and all(r.ended_at is not None for r in rounds)
    assert db.exec(select(BoardRoundAttendee)).first() is not None
    assert db.exec(select(Action).where(Action.done_at.is_not(None))).first() is not None


def test_nothing_happens_in_the_future_or_before_the_history(db: Session, demo):
    start = NOW - timedelta(days=SMALL["days_history"] + 1)
    for model, column in [
        (FailedDischarge, FailedDischarge.logged_at),
        (EscalationEvent, EscalationEvent.at),
        (DailyReview, DailyReview.reviewed_at),
        (Action, Action.created_at),
    ]:
        earliest = db.exec(select(func.min(column)).select_from(model)).one()
        assert earliest is not None and earliest >= start, model
    for model, column in [
        (Stay, Stay.admitted_at),
        (Stay, Stay.discharged_at),
        (DailyReview, DailyReview.reviewed_at),
        (AuditEvent, AuditEvent.occurred_at),
        (Action, Action.done_at),
        (EscalationEvent, EscalationEvent.at),
        (FailedDischarge, FailedDischarge.logged_at),
    ]:
        latest = db.exec(select(func.max(column)).select_from(model)).one()
        assert latest is not None and latest <= NOW, model
    assert db.exec(select(func.max(DailyReview.review_date))).one() <= london_date(NOW)


def test_a_bed_never_holds_two_stays_at_once(db: Session, demo):
    by_bed: dict[int, list[StayLocation]] = {}
    for loc in db.exec(select(StayLocation).where(StayLocation.bed_id.is_not(None))):
        by_bed.setdefault(loc.bed_id, []).append(loc)
    assert by_bed
    for locations in by_bed.values():
        locations.sort(key=lambda loc: loc.started_at)
        for earlier, later in zip(locations, locations[1:], strict=False):
            assert earlier.ended_at is not None and earlier.ended_at <= later.started_at
    current = db.exec(select(Stay.bed_id, func.count()).where(Stay.discharged_at.is_(None)).group_by(Stay.bed_id)).all()
    assert all(count == 1 for _bed, count in current)


def test_every_write_has_an_audit_trail(db: Session, demo):
    def audited(entity_type: str, action: str) -> set[str]:
        return set(
            db.exec(
                select(AuditEvent.entity_id).where(AuditEvent.entity_type == entity_type, AuditEvent.action == action)
            )
        )

    assert {str(i) for i in db.exec(select(Stay.id))} == audited("stay", "admit")
    assert {str(i) for i in db.exec(select(Stay.id).where(Stay.discharged_at.is_not(None)))} == audited(
        "stay", "discharge"
    )
    assert {str(i) for i in db.exec(select(Patient.id))} == audited("patient", "create")
    assert {str(i) for i in db.exec(select(DailyReview.id))} == audited("dailyreview", "record_review")
    assert {str(i) for i in db.exec(select(Action.id))} == audited("action", "create")
    assert {str(i) for i in db.exec(select(Escalation.id))} == audited("escalation", "raise_escalation")
    assert {str(i) for i in db.exec(select(User.id))} == audited("user", "user_create")
    assert {str(i) for i in db.exec(select(Bed.id))} == audited("bed", "create")
    edds = db.exec(select(func.count()).select_from(EddChange)).one()
    assert edds == db.exec(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "set_edd")).one()
    # Stays with a DRD got it from an audited review.
    with_drd = {str(i) for i in db.exec(select(Stay.id).where(Stay.discharge_ready_date.is_not(None)))}
    assert with_drd <= audited("stay", "update_from_review")


def test_users_for_every_role(db: Session, demo):
    users = {u.username: u for u in db.exec(select(User))}
    expected = {
        "nurse": "nurse",
        "doctor": "doctor",
        "therapist": "therapist",
        "socialworker": "social_worker",
        "flow": "flow_coordinator",
        "wardmanager": "ward_manager",
        "sponsor": "executive_sponsor",
        "admin": "admin",
    }
    for username, role in expected.items():
        user = users[username]
        assert user.role_code == role and user.is_active and not user.is_service_account
        assert user.password_hash == users["nurse"].password_hash  # one memoised hash in tests
    assert verify_password(DEMO_PASSWORD, users["nurse"].password_hash)
    assert [(u, r, n) for u, r, n in demo.users][:8] == [(u, expected[u], users[u].display_name) for u in expected]
    pas = users["pas-feed"]
    assert pas.role_code == "integration" and pas.is_service_account and pas.password_hash is None
    nurse_wards = db.exec(select(UserWard.ward_id).where(UserWard.user_id == users["nurse"].id)).all()
    assert len(nurse_wards) == 2
    assert db.exec(select(UserWard).where(UserWard.user_id == users["flow"].id)).first() is None  # site-wide
    wards = db.exec(select(Ward)).all()
    assert wards
    for ward in wards:
        sponsor = db.get(User, ward.executive_sponsor_id)
        assert sponsor.role_code == "executive_sponsor"


def test_patients_are_synthetic(db: Session, demo):
    for patient in db.exec(select(Patient)):
        assert patient.nhs_number.startswith("999") and nhs_number.is_valid(patient.nhs_number)
        assert patient.mrn.startswith("DMO") and len(patient.mrn) == 9
    ages = [(london_date(NOW) - p.date_of_birth).days // 365 for p in db.exec(select(Patient))]
    assert sum(65 <= a <= 97 for a in ages) / len(ages) > 0.6


def test_refuses_a_database_that_has_data(db: Session, demo):
    with pytest.raises(DemoExists):
        build(db)


def _fingerprint(db: Session) -> str:
    """Every generated row, keyed by natural keys (ids differ between builds on PostgreSQL)."""
    ward = {w.id: w.code for w in db.exec(select(Ward))}
    bed = {b.id: (ward[b.ward_id], b.label, b.is_open, b.is_escalation) for b in db.exec(select(Bed))}
    user = {u.id: u.username for u in db.exec(select(User))}
    patient = {
        p.id: (p.mrn, p.nhs_number, p.given_name, p.family_name, str(p.date_of_birth), p.sex)
        for p in db.exec(select(Patient))
    }
    stays = list(db.exec(select(Stay)))
    stay = {s.id: (patient[s.patient_id][0], s.admitted_at.isoformat()) for s in stays}
    crit: dict[int, list[str]] = {}
    for rc in db.exec(select(ReviewCriterion)):
        crit.setdefault(rc.review_id, []).append(rc.criterion_code)
    rounds = {r.id: (ward[r.ward_id], r.started_at.isoformat()) for r in db.exec(select(BoardRound))}
    esc = {e.id: (stay[e.stay_id], e.raised_at.isoformat()) for e in db.exec(select(Escalation))}
    fds = {f.id: (stay[f.stay_id], f.logged_at.isoformat()) for f in db.exec(select(FailedDischarge))}

    def t(value: Any) -> Any:
        return value.isoformat() if hasattr(value, "isoformat") else value

    def rows(items: Any) -> list[str]:
        return sorted(json.dumps(item, sort_keys=True, default=str) for item in items)

    def strip_ids(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip_ids(v) for k, v in value.items() if k != "id" and not k.endswith("_id")}
        if isinstance(value, list):
            return [strip_ids(v) for v in value]
        return value

    tables = {
        "beds": rows(bed.values()),
        "patients": rows(patient.values()),
        "stays": rows(
            (
                stay[s.id],
                ward[s.ward_id],
                bed.get(s.bed_id),
                t(s.discharged_at),
                s.discharge_destination_code,
                s.pathway,
                t(s.expected_discharge_date),
                t(s.discharge_ready_date),
                s.clinical_criteria_for_discharge,
                s.responsible_consultant,
                s.pas_visit_number,
                s.version,
            )
            for s in stays
        ),
        "locations": rows(
            (stay[x.stay_id], ward[x.ward_id], bed.get(x.bed_id), t(x.started_at), t(x.ended_at))
            for x in db.exec(select(StayLocation))
        ),
        "reviews": rows(
            (
                stay[r.stay_id],
                str(r.review_date),
                r.meets_criteria_to_reside,
                sorted(crit.get(r.id, [])),
                r.delay_reason_code,
                r.day_status,
                r.red_day_reason_code,
                r.pathway,
                r.plan,
                user[r.reviewed_by_id],
                t(r.reviewed_at),
                r.version,
            )
            for r in db.exec(select(DailyReview))
        ),
        "edds": rows(
            (stay[e.stay_id], t(e.old_date), t(e.new_date), e.reason, user[e.changed_by_id], t(e.changed_at))
            for e in db.exec(select(EddChange))
        ),
        "actions": rows(
            (
                stay[a.stay_id],
                rounds.get(a.board_round_id),
                a.description,
                a.owner_role_code,
                t(a.due_at),
                t(a.done_at),
                user.get(a.done_by_id),
                user[a.created_by_id],
            )
            for a in db.exec(select(Action))
        ),
        "failed": rows(
            (fds[f.failed_discharge_id], f.reason_code, f.is_primary) for f in db.exec(select(FailedDischargeCause))
        ),
        "escalations": rows(
            (esc[e.escalation_id], e.kind, e.level, e.note, user[e.actor_id], t(e.at))
            for e in db.exec(select(EscalationEvent))
        ),
        "attendees": rows((rounds[a.board_round_id], a.role_code, a.name) for a in db.exec(select(BoardRoundAttendee))),
        "audit": sorted(
            json.dumps(
                [
                    t(a.occurred_at),
                    a.actor_name,
                    a.actor_role,
                    a.action,
                    a.entity_type,
                    strip_ids(a.before),
                    strip_ids(a.after),
                ],
                sort_keys=True,
                default=str,
            )
            for a in db.exec(select(AuditEvent))
        ),
    }
    return hashlib.sha256(json.dumps(tables, sort_keys=True, default=str).encode()).hexdigest()


def _build_and_fingerprint(db: Session, **kw: Any) -> str:
    savepoint = db.begin_nested()
    try:
        build(db, **(TINY | kw))
        db.flush()
        return _fingerprint(db)
    finally:
        savepoint.rollback()
        db.expunge_all()


def test_same_seed_and_time_give_the_same_hospital(db: Session):
    first = _build_and_fingerprint(db, seed=11)
    second = _build_and_fingerprint(db, seed=11)
    assert first == second


def test_another_seed_gives_another_hospital():
    def patients(seed: int) -> list[tuple[str, str]]:
        plan = Planner(random.Random(seed), now=NOW, wards=2, beds_per_ward=(10, 12), days_history=7).plan()
        return [(p.given_name, p.nhs_number) for p in plan.patients]

    assert patients(11) == patients(11)
    assert patients(11) != patients(12)


def test_batched_history_writes_what_the_review_service_writes(db: Session):
    """Older reviews are batched for speed; the rows and audit events must equal the service's."""
    all_through_service = _build_and_fingerprint(db, seed=5, service_review_days=99)
    mostly_batched = _build_and_fingerprint(db, seed=5, service_review_days=1)
    assert all_through_service == mostly_batched


def test_other_times_work_too(db: Session):
    """A build just after midnight in summer time (BST) and on a Sunday still holds together."""
    summary = build_demo(
        db,
        seed=3,
        now=datetime(2025, 7, 13, 23, 20, tzinfo=UTC) + timedelta(minutes=1),
        hasher=_hash,
        wards=1,
        beds_per_ward=(8, 8),
        days_history=4,
    )
    assert summary.current_stays >= 1 and summary.reviews > 0
