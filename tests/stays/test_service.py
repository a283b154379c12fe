"""Stay rules, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from app.core.errors import Conflict, RuleViolation, StaleVersion
from app.models import AuditEvent, EddChange, Patient, Stay, StayLocation
from app.stays import service
from tests import factories


@pytest.fixture
def actor(nurse_principal):
    return nurse_principal


def test_edd_cannot_be_before_admission(db, ward, actor, now):
    bed = factories.beds_of(db, ward)[0]
    stay = factories.make_stay(db, actor, ward, bed, admitted_at=datetime(2026, 3, 8, 9, 0, tzinfo=UTC))
    with pytest.raises(RuleViolation) as info:
        service.set_edd(
            db, actor=actor, stay=stay, new_date=date(2026, 3, 7), reason="", expected_version=stay.version, now=now
        )
    assert info.value.field == "expected_discharge_date"
    # The admission day itself is fine (same-day discharge).
    service.set_edd(
        db, actor=actor, stay=stay, new_date=date(2026, 3, 8), reason="", expected_version=stay.version, now=now
    )


def test_edd_admission_day_is_the_london_date(db, ward, actor):
    # Admitted 23:30 UTC on 30 June = 00:30 BST on 1 July: an EDD of 30 June is before admission.
    admitted = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    now = admitted + timedelta(hours=2)
    stay = factories.make_stay(db, actor, ward, None, admitted_at=admitted, now=now)
    with pytest.raises(RuleViolation):
        service.set_edd(
            db, actor=actor, stay=stay, new_date=date(2026, 6, 30), reason="", expected_version=stay.version, now=now
        )


def test_first_edd_needs_no_reason_later_changes_do(db, ward, actor, now, nurse):
    stay = factories.make_stay(db, actor, ward, None)
    service.set_edd(
        db, actor=actor, stay=stay, new_date=date(2026, 3, 12), reason="", expected_version=stay.version, now=now
    )
    with pytest.raises(RuleViolation) as info:
        service.set_edd(
            db, actor=actor, stay=stay, new_date=date(2026, 3, 14), reason="", expected_version=stay.version, now=now
        )
    assert info.value.field == "reason"
    later = now + timedelta(hours=1)
    service.set_edd(
        db,
        actor=actor,
        stay=stay,
        new_date=date(2026, 3, 14),
        reason="Awaiting echo",
        expected_version=stay.version,
        now=later,
    )
    history = db.exec(select(EddChange).where(EddChange.stay_id == stay.id).order_by(EddChange.id)).all()
    assert [(h.old_date, h.new_date, h.reason) for h in history] == [
        (None, date(2026, 3, 12), ""),
        (date(2026, 3, 12), date(2026, 3, 14), "Awaiting echo"),
    ]
    assert history[1].changed_by_id == nurse.id and history[1].changed_at == later


def test_a_bed_holds_one_current_stay(db, ward, actor):
    bed = factories.beds_of(db, ward)[0]
    factories.make_stay(db, actor, ward, bed)
    with pytest.raises(Conflict) as info:
        factories.make_stay(db, actor, ward, bed)
    assert info.value.field == "bed_id"


def test_the_database_also_refuses_two_current_stays_in_a_bed(db, ward, actor, now):
    """The partial unique index is the last line of defence against two tablets racing."""
    bed = factories.beds_of(db, ward)[0]
    first = factories.make_stay(db, actor, ward, bed)
    other = factories.make_patient(db, actor)
    db.add(Stay(patient_id=other.id, ward_id=ward.id, bed_id=bed.id, admitted_at=now))
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()
    assert first.id is not None


def test_discharged_bed_can_be_reused(db, ward, actor, now):
    bed = factories.beds_of(db, ward)[0]
    stay = factories.make_stay(db, actor, ward, bed)
    service.discharge(
        db,
        actor=actor,
        stay=stay,
        discharged_at=now,
        destination_code="19",
        pathway=0,
        expected_version=stay.version,
        now=now,
    )
    again = factories.make_stay(db, actor, ward, bed, admitted_at=now)
    assert again.bed_id == bed.id and again.discharged_at is None


def test_a_patient_has_one_current_stay(db, ward, actor):
    stay = factories.make_stay(db, actor, ward, None)
    patient = db.get(factories.Patient, stay.patient_id)
    with pytest.raises(Conflict):
        factories.make_stay(db, actor, ward, None, patient=patient)


def test_closed_bed_and_bed_from_another_ward_are_refused(db, ward, actor):
    bed = factories.beds_of(db, ward)[0]
    bed.is_open = False
    db.flush()
    with pytest.raises(RuleViolation, match="closed"):
        factories.make_stay(db, actor, ward, bed)
    other_ward = factories.make_ward(db, beds=1)
    with pytest.raises(RuleViolation, match="not on this ward"):
        factories.make_stay(db, actor, ward, factories.beds_of(db, other_ward)[0])


def test_transfer_keeps_ward_and_bed_history(db, ward, nurse, now):
    beds = factories.beds_of(db, ward)
    other = factories.make_ward(db, site=None, beds=2)
    actor = factories.principal(db, factories.make_user(db, "nurse", wards=[ward, other]))
    admitted = now - timedelta(days=2)
    stay = factories.make_stay(db, actor, ward, beds[0], admitted_at=admitted)
    t1 = now - timedelta(days=1)
    service.transfer(
        db, actor=actor, stay=stay, ward_id=ward.id, bed_id=beds[1].id, at=t1, expected_version=stay.version, now=now
    )
    target = factories.beds_of(db, other)[0]
    service.transfer(
        db, actor=actor, stay=stay, ward_id=other.id, bed_id=target.id, at=now, expected_version=stay.version, now=now
    )
    locations = db.exec(select(StayLocation).where(StayLocation.stay_id == stay.id).order_by(StayLocation.id)).all()
    assert [(loc.ward_id, loc.bed_id, loc.started_at, loc.ended_at) for loc in locations] == [
        (ward.id, beds[0].id, admitted, t1),
        (ward.id, beds[1].id, t1, now),
        (other.id, target.id, now, None),
    ]
    assert (stay.ward_id, stay.bed_id) == (other.id, target.id)
    # The first bed is free again.
    factories.make_stay(db, actor, ward, beds[0])


def test_discharged_stay_is_read_only_except_audited_correction(db, ward, actor, now):
    stay = factories.make_stay(db, actor, ward, None)
    service.discharge(
        db,
        actor=actor,
        stay=stay,
        discharged_at=now,
        destination_code="19",
        pathway=1,
        expected_version=stay.version,
        now=now,
    )
    with pytest.raises(Conflict, match="audited correction"):
        service.set_edd(
            db, actor=actor, stay=stay, new_date=date(2026, 3, 20), reason="x", expected_version=stay.version, now=now
        )
    with pytest.raises(Conflict):
        service.update_stay(db, actor=actor, stay=stay, changes={"pathway": 2}, expected_version=stay.version, now=now)
    with pytest.raises(Conflict):
        service.transfer(
            db, actor=actor, stay=stay, ward_id=ward.id, bed_id=None, at=now, expected_version=stay.version, now=now
        )
    corrected_time = now - timedelta(hours=2)
    service.correct_discharged_stay(
        db,
        actor=actor,
        stay=stay,
        changes={"discharged_at": corrected_time},
        reason="PAS time was wrong",
        expected_version=stay.version,
        now=now,
    )
    assert stay.discharged_at == corrected_time
    event = db.exec(
        select(AuditEvent).where(AuditEvent.action == "correct", AuditEvent.entity_id == str(stay.id))
    ).one()
    assert event.before == {"discharged_at": now.isoformat(), "ward_history_ended_at": now.isoformat()}
    assert event.after == {
        "discharged_at": corrected_time.isoformat(),
        "ward_history_ended_at": corrected_time.isoformat(),
        "reason": "PAS time was wrong",
    }


def test_discharge_before_admission_or_in_future_is_refused(db, ward, actor, now):
    stay = factories.make_stay(db, actor, ward, None, admitted_at=now - timedelta(days=1))
    with pytest.raises(RuleViolation, match="before admission"):
        service.discharge(
            db,
            actor=actor,
            stay=stay,
            discharged_at=now - timedelta(days=2),
            destination_code="19",
            pathway=None,
            expected_version=stay.version,
            now=now,
        )
    with pytest.raises(RuleViolation, match="future"):
        service.discharge(
            db,
            actor=actor,
            stay=stay,
            discharged_at=now + timedelta(hours=2),
            destination_code="19",
            pathway=None,
            expected_version=stay.version,
            now=now,
        )
    with pytest.raises(RuleViolation, match="destination"):
        service.discharge(
            db,
            actor=actor,
            stay=stay,
            discharged_at=now,
            destination_code="00",
            pathway=None,
            expected_version=stay.version,
            now=now,
        )


def test_stale_version_is_refused_with_current_state_and_who(db, ward, actor, now):
    stay = factories.make_stay(db, actor, ward, None)
    seen = stay.version
    service.set_edd(db, actor=actor, stay=stay, new_date=date(2026, 3, 12), reason="", expected_version=seen, now=now)
    with pytest.raises(StaleVersion) as info:
        service.update_stay(db, actor=actor, stay=stay, changes={"pathway": 1}, expected_version=seen, now=now)
    assert info.value.detail["current"]["expected_discharge_date"] == "2026-03-12"
    assert info.value.detail["changed_by"]["name"] == "Nina Nurse"


def test_times_are_stored_and_returned_in_utc(db, ward, actor):
    from zoneinfo import ZoneInfo

    admitted = datetime(2026, 3, 9, 14, 0, tzinfo=ZoneInfo("Europe/London"))
    stay = factories.make_stay(db, actor, ward, None, admitted_at=admitted)
    db.expire_all()
    loaded = db.get(Stay, stay.id)
    assert loaded.admitted_at == admitted
    assert loaded.admitted_at.utcoffset() == timedelta(0)


def test_every_write_is_audited_with_the_actor(db, ward, actor, nurse, now):
    stay = factories.make_stay(db, actor, ward, None)
    service.set_edd(
        db, actor=actor, stay=stay, new_date=date(2026, 3, 12), reason="", expected_version=stay.version, now=now
    )
    service.discharge(
        db,
        actor=actor,
        stay=stay,
        discharged_at=now,
        destination_code="19",
        pathway=0,
        expected_version=stay.version,
        now=now,
    )
    events = db.exec(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "stay", AuditEvent.entity_id == str(stay.id))
        .order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events] == ["admit", "set_edd", "discharge"]
    assert {e.actor_id for e in events} == {nurse.id}
    assert all(e.ward_id == ward.id and e.patient_id == stay.patient_id for e in events)
    assert events[2].before["discharged_at"] is None and events[2].after["discharge_destination_code"] == "19"


def test_admission_refuses_a_patient_already_in_and_a_taken_bed(db, ward, actor):
    """Both checks come from one query: each must still name the right problem."""
    first, second = factories.beds_of(db, ward)[:2]
    in_bed = factories.make_stay(db, actor, ward, first)
    patient_in = db.get(Patient, in_bed.patient_id)
    # The patient is already in (even asking for a free bed): that comes first.
    with pytest.raises(Conflict) as info:
        factories.make_stay(db, actor, ward, second, patient=patient_in)
    assert info.value.field == "patient_id" and info.value.detail == {"stay_id": in_bed.id}
    # Someone else, the same bed: the bed is taken.
    with pytest.raises(Conflict) as info:
        factories.make_stay(db, actor, ward, first)
    assert info.value.field == "bed_id" and info.value.detail == {"stay_id": in_bed.id}
    # A discharged occupant frees the bed and lets the patient come back.
    service.discharge(
        db,
        actor=actor,
        stay=in_bed,
        discharged_at=in_bed.admitted_at + timedelta(days=1),
        destination_code="19",
        pathway=0,
        expected_version=in_bed.version,
        now=in_bed.admitted_at + timedelta(days=2),
    )
    again = factories.make_stay(db, actor, ward, first, patient=patient_in)
    assert again.bed_id == first.id


def test_a_ward_outside_the_actors_scope_is_no_such_ward(db, ward, actor, now):
    """The service refuses it too (the routes answer 404 first): a missing ward, word for word."""
    other = factories.make_ward(db, beds=1)
    with pytest.raises(RuleViolation, match="No such ward") as outside:
        factories.make_stay(db, actor, other, None)
    with pytest.raises(RuleViolation, match="No such ward") as missing:
        service.admit(
            db, actor=actor, patient=factories.make_patient(db, actor), ward_id=2**31 - 1, bed_id=None,
            admitted_at=now, now=now,
        )  # fmt: skip
    assert (outside.value.message, outside.value.field) == (missing.value.message, missing.value.field)
    stay = factories.make_stay(db, actor, ward, None)
    with pytest.raises(RuleViolation, match="No such ward"):
        service.transfer(
            db, actor=actor, stay=stay, ward_id=other.id, bed_id=None, at=now, expected_version=stay.version, now=now
        )
    assert stay.ward_id == ward.id


def test_already_in_hospital_names_the_stay_only_to_someone_who_can_see_it(db, ward, actor, now):
    other = factories.make_ward(db, beds=1)
    elsewhere = factories.principal(db, factories.make_user(db, "nurse", wards=[other]))
    stay = factories.make_stay(db, elsewhere, other, None)
    patient = db.get(Patient, stay.patient_id)
    with pytest.raises(Conflict) as info:
        factories.make_stay(db, actor, ward, None, patient=patient)
    assert info.value.detail is None and info.value.field == "patient_id"
    assert info.value.message == service.ALREADY_IN_ELSEWHERE
    assert other.name not in info.value.message and other.code not in info.value.message
    flow = factories.principal(db, factories.make_user(db, "flow_coordinator"))
    with pytest.raises(Conflict) as info:
        factories.make_stay(db, flow, ward, None, patient=patient)
    assert info.value.detail == {"stay_id": stay.id}
