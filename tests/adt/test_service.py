"""Each ADT event's effect on patients, stays and beds, on SQLite and PostgreSQL.

Messages go through `app.adt.pipeline.handle`, the entry point every channel uses. The test's
session is committed before each message (a savepoint release under the `db` fixture), so the
rollback of a failed message undoes only that message.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import func, select

from app.adt import events, mapping, pipeline, review
from app.adt.errors import Invalid
from app.adt.parser import Location
from app.core.errors import RuleViolation
from app.models import AdtMessage, AuditEvent, Bed, BedLabelFrom, PasLocation, Patient, Stay, StayLocation
from app.stays import service as stays
from app.wards.queries import ward_board
from tests import factories
from tests.adt import messages as msg

NOW = factories.NOW  # 2026-03-10 11:00 UTC (GMT)


@pytest.fixture
def feed(db):
    """Wards W1 and W2 with beds B01..B04, and the PAS feed's integration account."""
    w1 = factories.make_ward(db, beds=4, code="W1")
    w2 = factories.make_ward(db, beds=4, code="W2")
    user = factories.make_user(db, "integration", username="pas-feed-test", is_service_account=True)
    actor = factories.principal(db, user)
    db.commit()

    class Feed:
        ward1, ward2, account, principal = w1, w2, user, actor

        def send(self, text: str, now: datetime = NOW) -> dict[str, str]:
            db.commit()
            ack = pipeline.handle(db, text, actor=actor, now=now, channel="test")
            fields = msg.ack_fields(ack.message)
            assert fields["code"] == ack.code
            return fields

        def bed(self, ward, label: str) -> Bed:
            return db.exec(select(Bed).where(Bed.ward_id == ward.id, Bed.label == label)).one()

        def stay(self, visit: str = "V0001") -> Stay | None:
            return db.exec(select(Stay).where(Stay.pas_visit_number == visit)).first()

        def locations(self, stay: Stay) -> list[tuple[str, str | None, datetime, datetime | None]]:
            rows = db.exec(select(StayLocation).where(StayLocation.stay_id == stay.id).order_by(StayLocation.id))
            out = []
            for row in rows:
                bed = db.get(Bed, row.bed_id) if row.bed_id else None
                ward_code = "W1" if row.ward_id == w1.id else "W2"
                out.append((ward_code, bed.label if bed else None, row.started_at, row.ended_at))
            return out

        def messages(self) -> list[AdtMessage]:
            return list(db.exec(select(AdtMessage).order_by(AdtMessage.id)))

    return Feed()


def add_mapping(db, **fields):
    """`boardround adt map`, as the service it calls."""
    return mapping.add_mapping(db, actor=None, actor_name="cli:test", now=NOW, **fields)


def at(hhmm: str, day: str = "20260310") -> datetime:
    return datetime.strptime(day + hhmm, "%Y%m%d%H%M").replace(tzinfo=UTC)


# -- A01 admit ---------------------------------------------------------------------------------


def test_a01_registers_the_patient_and_admits_to_the_mapped_bed(db, feed):
    ack = feed.send(msg.adt("A01", control="A01-1"))
    assert (ack["code"], ack["control_id"], ack["type"]) == ("AA", "A01-1", "ACK")
    stay = feed.stay()
    patient = db.get(Patient, stay.patient_id)
    assert (patient.nhs_number, patient.mrn, patient.family_name, patient.given_name) == (
        msg.NHS,
        msg.MRN,
        "SMITH",
        "ANN",
    )
    assert (patient.date_of_birth, patient.sex) == (date(1940, 5, 17), "female")
    assert stay.ward_id == feed.ward1.id and stay.bed_id == feed.bed(feed.ward1, "B01").id
    assert stay.admitted_at == at("0900") and stay.discharged_at is None
    assert stay.responsible_consultant == "DR MARK JONES"
    assert feed.locations(stay) == [("W1", "B01", at("0900"), None)]
    [row] = feed.messages()
    assert (row.control_id, row.status, row.ack_code, row.event, row.channel, row.raw) == (
        "A01-1",
        "applied",
        "AA",
        "A01",
        "test",
        None,
    )


def test_every_change_is_audited_as_the_integration_account(db, feed):
    feed.send(msg.adt("A01", control="AUD-1"))
    events = db.exec(select(AuditEvent).where(AuditEvent.actor_id == feed.account.id).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["create", "admit", "hl7_a01"]
    assert {e.actor_role for e in events} == {"integration"}
    assert events[-1].entity_type == "adtmessage"
    stay = feed.stay()
    assert events[-1].after == {"control_id": "AUD-1", "event": "A01", "effect": "admitted", "stay_id": stay.id}
    assert events[-1].ward_id == stay.ward_id and events[-1].patient_id == stay.patient_id


def test_a01_in_bst_is_converted_to_utc(db, feed):
    feed.send(msg.adt("A01", sent="20260701100000", admit="20260701093000"), now=datetime(2026, 7, 1, 12, tzinfo=UTC))
    assert feed.stay().admitted_at == datetime(2026, 7, 1, 8, 30, tzinfo=UTC)


def test_a01_with_an_explicit_offset(db, feed):
    feed.send(msg.adt("A01", admit="20260310093000+0000"))
    assert feed.stay().admitted_at == at("0930")


@pytest.mark.parametrize("version", ["2.3", "2.4", "2.5.1"])
def test_a01_in_each_version(db, feed, version):
    assert feed.send(msg.adt("A01", version=version))["code"] == "AA"
    assert feed.stay() is not None


def test_a01_again_for_the_same_visit_is_a_no_op(db, feed):
    feed.send(msg.adt("A01"))
    stay = feed.stay()
    version = stay.version
    assert feed.send(msg.adt("A01"))["code"] == "AA"
    db.refresh(stay)
    assert stay.version == version
    assert db.exec(select(func.count()).select_from(Stay)).one() == 1


def test_a01_without_a_bed_admits_to_the_ward(db, feed):
    feed.send(msg.adt("A01", location="W2"))
    stay = feed.stay()
    assert stay.ward_id == feed.ward2.id and stay.bed_id is None


def test_a01_to_an_occupied_bed_is_an_error_and_nothing_is_half_applied(db, feed):
    feed.send(msg.adt("A01"))
    ack = feed.send(msg.adt("A01", visit="V0002", nhs="9990000018", mrn="K200002", family="JONES"))
    assert ack["code"] == "AE"
    assert "bed" in ack["text"].lower()
    # The second patient was not registered either: one transaction per message.
    assert db.exec(select(Patient).where(Patient.mrn == "K200002")).first() is None
    assert feed.stay("V0002") is None


def test_a01_for_a_patient_already_in_hospital_is_an_error(db, feed):
    feed.send(msg.adt("A01"))
    ack = feed.send(msg.adt("A01", visit="V0009", location="W2^^B01"))
    assert ack["code"] == "AE" and "already in hospital" in ack["text"]


# -- location mapping ----------------------------------------------------------------------------


def test_unmapped_ward_is_an_error_kept_for_review_without_identifiers(db, feed):
    text = msg.adt("A01", control="UNMAPPED-1", location="AMU7^^12")
    ack = feed.send(text)
    assert ack["code"] == "AE" and ack["control_id"] == "UNMAPPED-1"
    assert "AMU7" in ack["text"] and "location map" in ack["text"]
    assert "PV1^1^3" in ack["err"] and "103" in ack["err"]
    for identifier in (msg.NHS, msg.MRN, "SMITH", "V0001", "19400517"):
        assert identifier not in ack["text"] and identifier not in ack["err"]
    [row] = feed.messages()
    assert (row.status, row.ack_code, row.error_location) == ("error", "AE", "PV1-3")
    assert row.raw == text  # kept, in the database only
    assert db.exec(select(func.count()).select_from(Patient)).one() == 0


def test_mapping_table_for_ward_and_bed(db, feed):
    add_mapping(db, point_of_care="AMU7", pas_bed=None, ward_code="W2", bed_label=None)
    add_mapping(db, point_of_care="AMU7", pas_bed="12", ward_code="W2", bed_label="B03")
    feed.send(msg.adt("A01", location="AMU7^BAY2^12"))
    stay = feed.stay()
    assert stay.ward_id == feed.ward2.id and stay.bed_id == feed.bed(feed.ward2, "B03").id
    # A bed the map does not name, but whose label exists on the mapped ward, maps directly.
    feed.send(msg.adt("A02", location="AMU7^BAY1^B04", evn_time="20260310093000"))
    assert feed.stay().bed_id == feed.bed(feed.ward2, "B04").id


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (("AMU7", "12"), ("W2", "B03")),  # the map row for that PAS bed
        (("AMU7", "B04"), ("W2", "B04")),  # the mapped ward; the bed by its label there
        (("AMU7", ""), ("W2", None)),  # the mapped ward, no bed
        (("W1", "12"), ("W1", "B02")),  # a map row for a PAS bed on a ward-code location
        (("W1", "B01"), ("W1", "B01")),  # no map row for the bed: the ward by its code, the bed by label
        (("W2", ""), ("W1", None)),  # a ward-level map row beats the ward whose code it is
        (("AMU7", "99"), "not a bed on the mapped ward"),
        (("XX", ""), "not mapped to a Boardround ward"),
    ],
)
def test_location_resolution_most_specific_first(db, feed, location, expected):
    add_mapping(db, point_of_care="AMU7", pas_bed=None, ward_code="W2", bed_label=None)
    add_mapping(db, point_of_care="AMU7", pas_bed="12", ward_code="W2", bed_label="B03")
    add_mapping(db, point_of_care="W1", pas_bed="12", ward_code="W1", bed_label="B02")
    add_mapping(db, point_of_care="W2", pas_bed=None, ward_code="W1", bed_label=None)
    poc, bed = location
    where = Location(point_of_care=poc, room="", bed=bed)
    if isinstance(expected, str):
        with pytest.raises(Invalid, match=expected):
            mapping.resolve(db, where)
        return
    ward = {"W1": feed.ward1, "W2": feed.ward2}[expected[0]]
    bed_id = feed.bed(ward, expected[1]).id if expected[1] else None
    assert mapping.resolve(db, where) == (ward.id, bed_id)


# -- which PV1-3 components make the bed ----------------------------------------------------------


def add_beds(db, ward, *labels: str) -> None:
    for n, label in enumerate(labels):
        db.add(Bed(ward_id=ward.id, label=label, sort_order=10 + n))
    db.flush()


def test_bay_and_bed_joined_make_the_bed_end_to_end(db, feed):
    """PV1-3.2 bay and PV1-3.3 bed, joined with the point of care's separator: A01, then A02."""
    add_beds(db, feed.ward2, "BAY1-1", "BAY1-2", "BAY2-1")
    add_mapping(
        db,
        point_of_care="AMU7",
        pas_bed=None,
        ward_code="W2",
        bed_label=None,
        bed_label_from=BedLabelFrom.ROOM_BED,
    )
    assert feed.send(msg.adt("A01", location="AMU7^BAY1^1^RXX01"))["code"] == "AA"
    stay = feed.stay()
    assert (stay.ward_id, stay.bed_id) == (feed.ward2.id, feed.bed(feed.ward2, "BAY1-1").id)
    assert feed.send(msg.adt("A02", location="AMU7^BAY2^1", evn_time="20260310093000"))["code"] == "AA"
    assert feed.stay().bed_id == feed.bed(feed.ward2, "BAY2-1").id
    # A PAS bed row is written in the joined form; the bed alone no longer matches a label.
    add_mapping(db, point_of_care="AMU7", pas_bed="BAY1-2", ward_code="W2", bed_label="B03")
    assert feed.send(msg.adt("A02", location="AMU7^BAY1^2", evn_time="20260310094000"))["code"] == "AA"
    assert feed.stay().bed_id == feed.bed(feed.ward2, "B03").id
    ack = feed.send(msg.adt("A02", location="AMU7^BAY9^B01", evn_time="20260310095000"))
    assert ack["code"] == "AE" and "'BAY9-B01' (from PV1-3.2 room and PV1-3.3 bed)" in ack["text"]
    assert [loc[:2] for loc in feed.locations(feed.stay())] == [
        ("W2", "BAY1-1"),
        ("W2", "BAY2-1"),
        ("W2", "B03"),
    ]


def test_bed_sent_in_pv1_3_2_end_to_end(db, feed):
    """A PAS that sends the bed in PV1-3.2 (PV1-3.3 empty, or something else): A01, then A02."""
    add_mapping(db, point_of_care="W1", pas_bed=None, ward_code="W1", bed_label=None, bed_label_from="room")
    assert feed.send(msg.adt("A01", location="W1^B02^^RXX01"))["code"] == "AA"
    stay = feed.stay()
    assert (stay.ward_id, stay.bed_id) == (feed.ward1.id, feed.bed(feed.ward1, "B02").id)
    assert feed.send(msg.adt("A02", location="W1^B04^X9", evn_time="20260310093000"))["code"] == "AA"
    assert feed.stay().bed_id == feed.bed(feed.ward1, "B04").id  # PV1-3.3 is not read
    # Without PV1-3.2 it is ward only, which never takes the patient out of their bed.
    assert feed.send(msg.adt("A02", location="W1^^B01", evn_time="20260310094000"))["code"] == "AA"
    assert feed.stay().bed_id == feed.bed(feed.ward1, "B04").id


@pytest.mark.parametrize(
    ("built", "separator", "room", "bed", "expected"),
    [
        ("bed", None, "BAY1", "B02", "B02"),  # the default: PV1-3.3, PV1-3.2 ignored
        ("room", None, "B03", "", "B03"),
        ("room", None, "", "B03", None),  # nothing in PV1-3.2: ward only
        ("room_bed", None, "BAY1", "1", "BAY1-1"),  # the default separator
        ("room_bed", "/", "BAY1", "1", "BAY1/1"),
        ("room_bed", "", "BAY", "11", "BAY11"),
        ("room_bed", " ", "BAY1", "1", "BAY1 1"),
        ("room_bed", None, "SR1", "", "SR1"),  # a side room without a bed number: the room alone
        ("room_bed", None, "", "B04", "B04"),  # and a bed without a room
        ("room_bed", None, "", "", None),
    ],
)
def test_pas_bed_built_as_the_point_of_care_says(db, feed, built, separator, room, bed, expected):
    add_beds(db, feed.ward2, "BAY1-1", "BAY1/1", "BAY11", "BAY1 1", "SR1")
    add_mapping(
        db,
        point_of_care="AMU7",
        pas_bed=None,
        ward_code="W2",
        bed_label=None,
        bed_label_from=built,
        bed_label_separator=separator,
    )
    bed_id = feed.bed(feed.ward2, expected).id if expected else None
    assert mapping.resolve(db, Location(point_of_care="AMU7", room=room, bed=bed)) == (feed.ward2.id, bed_id)
    # Other points of care keep PV1-3.3.
    assert mapping.resolve(db, Location(point_of_care="W1", room="B01", bed="B02")) == (
        feed.ward1.id,
        feed.bed(feed.ward1, "B02").id,
    )


def test_the_setting_is_audited_and_belongs_to_the_point_of_care(db, feed):
    row = add_mapping(db, point_of_care="AMU7", pas_bed=None, ward_code="W2", bed_label=None)
    add_mapping(
        db,
        point_of_care="AMU7",
        pas_bed=None,
        ward_code="W2",
        bed_label=None,
        bed_label_from=BedLabelFrom.ROOM_BED,
        bed_label_separator="/",
    )
    add_mapping(  # the same again: nothing to record
        db,
        point_of_care="AMU7",
        pas_bed=None,
        ward_code="W2",
        bed_label=None,
        bed_label_from=BedLabelFrom.ROOM_BED,
        bed_label_separator="/",
    )
    events = db.exec(select(AuditEvent).where(AuditEvent.action == "map_pas_location").order_by(AuditEvent.id)).all()
    assert len(events) == 2
    created, changed = events
    assert (created.entity_type, created.entity_id, created.actor_name) == ("paslocation", str(row.id), "cli:test")
    assert created.before is None
    assert created.after["bed_label_from"] == "bed" and created.after["ward_id"] == feed.ward2.id
    assert changed.before == {
        "pas_point_of_care": "AMU7",
        "pas_bed": None,
        "bed_label_from": "bed",
        "bed_label_separator": "",
    }
    assert changed.after == {
        "pas_point_of_care": "AMU7",
        "pas_bed": None,
        "bed_label_from": "room_bed",
        "bed_label_separator": "/",
    }
    assert changed.ward_id == feed.ward2.id


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"pas_bed": "12", "bed_label_from": "room"}, "point of care's own row"),
        ({"bed_label_from": "room", "bed_label_separator": "-"}, "only used with room_bed"),
        ({"bed_label_from": "room_bed", "bed_label_separator": "------"}, "up to 5 printable"),
        ({"bed_label_from": "room_bed", "bed_label_separator": "\t"}, "up to 5 printable"),
    ],
)
def test_bad_bed_label_settings_are_refused(db, feed, fields, message):
    base = {"point_of_care": "AMU7", "pas_bed": None, "ward_code": "W2", "bed_label": None}
    with pytest.raises(RuleViolation, match=message):
        add_mapping(db, **(base | fields))


def test_a_bad_code_cannot_be_stored(db, feed):
    """The database keeps to the codes (and PAS-bed rows to the defaults) whatever writes to it."""
    from sqlalchemy.exc import IntegrityError

    for values in ({"pas_bed": None, "bed_label_from": "bay"}, {"pas_bed": "12", "bed_label_from": "room"}):
        with pytest.raises(IntegrityError), db.begin_nested():
            db.add(PasLocation(pas_point_of_care="ZZ1", ward_id=feed.ward1.id, **values))
            db.flush()


def test_unknown_bed_on_a_known_ward_is_an_error(db, feed):
    ack = feed.send(msg.adt("A01", location="W1^^B99"))
    assert ack["code"] == "AE" and "B99" in ack["text"]


def test_closed_bed_is_an_error(db, feed):
    feed.bed(feed.ward1, "B01").is_open = False
    ack = feed.send(msg.adt("A01"))
    assert ack["code"] == "AE" and "closed" in ack["text"]


# -- A02 transfer ---------------------------------------------------------------------------------


def test_a02_moves_the_patient_and_keeps_the_history(db, feed):
    feed.send(msg.adt("A01"))
    ack = feed.send(msg.adt("A02", location="W2^^B02", prior_location="W1^^B01", evn_time="20260310094500"))
    assert ack["code"] == "AA"
    stay = feed.stay()
    assert stay.ward_id == feed.ward2.id and stay.bed_id == feed.bed(feed.ward2, "B02").id
    assert feed.locations(stay) == [("W1", "B01", at("0900"), at("0945")), ("W2", "B02", at("0945"), None)]
    actions = db.exec(select(AuditEvent.action).where(AuditEvent.entity_type == "stay")).all()
    assert "transfer" in actions and "transfer_out" in actions


def test_a02_to_where_the_patient_already_is_is_a_no_op(db, feed):
    feed.send(msg.adt("A01"))
    assert feed.send(msg.adt("A02", location="W1^^B01"))["code"] == "AA"
    assert len(feed.locations(feed.stay())) == 1


def test_a02_without_a_bed_keeps_the_patient_in_their_bed_on_the_same_ward(db, feed):
    feed.send(msg.adt("A01"))
    feed.send(msg.adt("A02", location="W1"))
    assert feed.stay().bed_id == feed.bed(feed.ward1, "B01").id


def test_a02_for_an_unknown_visit_with_full_pid_and_pv1_creates_the_stay(db, feed):
    """Out of order (or A01 lost): the stay is created at the new location, from PV1-44."""
    ack = feed.send(msg.adt("A02", location="W2^^B01", evn_time="20260310094500"))
    assert ack["code"] == "AA"
    stay = feed.stay()
    assert stay.ward_id == feed.ward2.id and stay.admitted_at == at("0900")
    # The late A01 then changes nothing.
    assert feed.send(msg.adt("A01", location="W2^^B01"))["code"] == "AA"
    assert db.exec(select(func.count()).select_from(Stay)).one() == 1


def test_a02_for_an_unknown_visit_without_admit_time_is_an_error(db, feed):
    ack = feed.send(msg.adt("A02", location="W2^^B01", admit=""))
    assert ack["code"] == "AE" and "PV1-44" in ack["text"]
    assert feed.stay() is None


def test_a02_after_discharge(db, feed):
    feed.send(msg.adt("A01"))
    feed.send(msg.adt("A03", discharge="20260310100000"))
    # Out of order: a transfer from before the discharge arrives late. Ignored (the stay is closed).
    ack = feed.send(msg.adt("A02", location="W2^^B01", evn_time="20260310093000"))
    assert ack["code"] == "AA"
    assert feed.stay().ward_id == feed.ward1.id
    # A transfer after the discharge time contradicts it: kept for review.
    ack = feed.send(msg.adt("A02", location="W2^^B01", evn_time="20260310103000", sent="20260310103000"))
    assert ack["code"] == "AE" and "discharged" in ack["text"]


def test_a01_arriving_after_the_discharge_of_its_visit(db, feed):
    """Out of order: A03 first (creates the whole stay), then the late A01: no change."""
    feed.send(msg.adt("A03", discharge="20260310100000"))
    assert feed.send(msg.adt("A01"))["code"] == "AA"
    stay = feed.stay()
    assert stay.discharged_at == at("1000") and stay.admitted_at == at("0900")
    # An A01 admitting the same visit after its discharge is a contradiction: kept for review.
    ack = feed.send(msg.adt("A01", admit="20260310103000", sent="20260310103000"))
    assert ack["code"] == "AE" and "A13" in ack["text"]


def test_a02_for_a_visit_of_another_patient_is_an_error(db, feed):
    feed.send(msg.adt("A01"))
    feed.send(msg.adt("A04", nhs="9990000018", mrn="K200002", family="JONES"))
    ack = feed.send(msg.adt("A02", nhs="9990000018", mrn="K200002", location="W2^^B01"))
    assert ack["code"] == "AE" and "different patient" in ack["text"]


# -- A03 discharge ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("disposition", "destination", "expected"),
    [("1", "19", "19"), ("4", "", "79"), ("", "", "99"), ("1", "ZZ", "99"), ("", "55", "55")],
)
def test_a03_discharges_with_the_mapped_destination(db, feed, disposition, destination, expected):
    feed.send(msg.adt("A01"))
    ack = feed.send(msg.adt("A03", discharge="20260310103000", disposition=disposition, destination=destination))
    assert ack["code"] == "AA"
    stay = feed.stay()
    assert stay.discharged_at == at("1030") and stay.discharge_destination_code == expected
    assert feed.locations(stay)[-1][3] == at("1030")


def test_a03_twice_is_a_no_op(db, feed):
    feed.send(msg.adt("A01"))
    feed.send(msg.adt("A03", discharge="20260310103000"))
    version = feed.stay().version
    ack = feed.send(msg.adt("A03", discharge="20260310104500"))
    assert ack["code"] == "AA"
    stay = feed.stay()
    assert stay.version == version and stay.discharged_at == at("1030")


def test_a03_for_an_unknown_visit_records_the_whole_stay(db, feed):
    ack = feed.send(msg.adt("A03", discharge="20260310103000", destination="19"))
    assert ack["code"] == "AA"
    stay = feed.stay()
    assert (stay.admitted_at, stay.discharged_at) == (at("0900"), at("1030"))


def test_a03_before_admission_time_is_an_error(db, feed):
    feed.send(msg.adt("A01"))
    ack = feed.send(msg.adt("A03", discharge="20260310080000"))
    assert ack["code"] == "AE" and "before admission" in ack["text"]
    assert feed.stay().discharged_at is None


def test_a03_in_the_future_is_an_error(db, feed):
    feed.send(msg.adt("A01"))
    ack = feed.send(msg.adt("A03", discharge="20260311100000"))
    assert ack["code"] == "AE" and "future" in ack["text"]


# -- A04 register, A08 update ---------------------------------------------------------------------------


def test_a04_registers_a_patient_without_a_stay(db, feed):
    assert feed.send(msg.adt("A04", patient_class="O", location="CLINIC1"))["code"] == "AA"
    assert db.exec(select(Patient).where(Patient.mrn == msg.MRN)).one().family_name == "SMITH"
    assert db.exec(select(func.count()).select_from(Stay)).one() == 0


def test_a04_without_nhs_number_uses_the_hospital_number(db, feed):
    assert feed.send(msg.adt("A04", nhs=None))["code"] == "AA"
    assert db.exec(select(Patient).where(Patient.mrn == msg.MRN)).one().nhs_number is None


def test_a08_updates_demographics_location_and_consultant(db, feed):
    feed.send(msg.adt("A01", nhs=None))
    ack = feed.send(
        msg.adt(
            "A08",
            family="O\\T\\NEILL",
            given="ANNE-MARIE",
            sex="F",
            location="W1^^B03",
            attending="C7654321^PATEL^PRIYA^^^DR",
            evn_time="20260310100000",
        )
    )
    assert ack["code"] == "AA"
    patient = db.exec(select(Patient).where(Patient.mrn == msg.MRN)).one()
    assert (patient.family_name, patient.given_name, patient.nhs_number) == ("O&NEILL", "ANNE-MARIE", msg.NHS)
    stay = feed.stay()
    assert stay.bed_id == feed.bed(feed.ward1, "B03").id and stay.responsible_consultant == "DR PRIYA PATEL"
    update = db.exec(select(AuditEvent).where(AuditEvent.action == "update", AuditEvent.entity_type == "patient")).one()
    assert update.before["family_name"] == "SMITH" and update.after["family_name"] == "O&NEILL"


def test_a08_with_missing_optional_fields_changes_only_what_was_sent(db, feed):
    feed.send(msg.adt("A01"))
    assert feed.send(msg.adt("A08", sex="", dob="", attending="", location="", pv1=True))["code"] == "AA"
    patient = db.exec(select(Patient).where(Patient.mrn == msg.MRN)).one()
    assert (patient.sex, patient.date_of_birth) == ("female", date(1940, 5, 17))
    assert feed.stay().responsible_consultant == "DR MARK JONES"


def test_a08_for_an_unknown_visit_updates_only_the_patient(db, feed):
    feed.send(msg.adt("A04"))
    assert (
        feed.send(msg.adt("A08", family="SMYTH", visit="OP123", patient_class="O", location="CLINIC9"))["code"] == "AA"
    )
    assert db.exec(select(Patient).where(Patient.mrn == msg.MRN)).one().family_name == "SMYTH"
    assert db.exec(select(func.count()).select_from(Stay)).one() == 0


def test_a08_for_a_discharged_visit_ignores_the_location(db, feed):
    feed.send(msg.adt("A01"))
    feed.send(msg.adt("A03", discharge="20260310100000"))
    assert feed.send(msg.adt("A08", location="W2^^B04", family="SMYTH"))["code"] == "AA"
    assert feed.stay().ward_id == feed.ward1.id


def test_identifiers_of_two_different_patients_are_an_error(db, feed):
    feed.send(msg.adt("A04"))
    feed.send(msg.adt("A04", nhs="9990000018", mrn="K200002", family="JONES"))
    ack = feed.send(msg.adt("A08", nhs="9990000018", mrn=msg.MRN))
    assert ack["code"] == "AE" and "two different patients" in ack["text"]


def test_bad_data_is_an_error_naming_the_field(db, feed):
    ack = feed.send(msg.adt("A01", admit="2026031O090000"))
    assert ack["code"] == "AE" and "PV1-44" in ack["text"] and "PV1^1^44" in ack["err"]
    ack = feed.send(msg.adt("A01", dob="20991231"))
    assert ack["code"] == "AE" and "PID-7" in ack["text"]
    ack = feed.send(msg.adt("A01", family="X" * 101))
    assert ack["code"] == "AE" and "PID-5" in ack["text"] and "X" * 20 not in ack["text"]


def test_missing_required_fields(db, feed):
    assert "PV1-19" in feed.send(msg.adt("A01", visit=None))["text"]
    assert "PV1-3" in feed.send(msg.adt("A01", location=""))["text"]
    assert "PID-3" in feed.send(msg.adt("A01", nhs=None, mrn=None))["text"]
    assert "PID-5" in feed.send(msg.adt("A01", family=""))["text"]
    assert "PID segment" in feed.send(msg.adt("A01").replace("\rPID|", "\rZPI|"))["text"]
    assert {m.status for m in feed.messages()} == {"error"}


# -- idempotency --------------------------------------------------------------------------------------


def test_the_same_control_id_twice_changes_nothing_and_answers_the_same(db, feed):
    first = feed.send(msg.adt("A01", control="DUP-1"))
    audit_count = db.exec(select(func.count()).select_from(AuditEvent)).one()
    again = feed.send(msg.adt("A01", control="DUP-1", location="W2^^B01"))  # different content, same ID
    assert again == first
    assert feed.stay().ward_id == feed.ward1.id
    assert db.exec(select(func.count()).select_from(AuditEvent)).one() == audit_count
    assert len(feed.messages()) == 1


def test_a_failed_control_id_answers_the_same_error_again(db, feed):
    first = feed.send(msg.adt("A01", control="DUP-2", location="NOWHERE"))
    again = feed.send(msg.adt("A01", control="DUP-2"))
    assert again == first and first["code"] == "AE"
    assert feed.stay() is None


def test_rejected_messages_are_kept(db, feed):
    assert feed.send(msg.adt("A40", control="REJ-1"))["code"] == "AR"
    no_id = msg.adt("A01", control="X").replace("|X|P|", "||P|")
    ack = feed.send(no_id)
    assert ack["code"] == "AR" and ack["control_id"] == ""
    assert feed.send("this is not HL7")["code"] == "AR"
    rows = feed.messages()
    assert [(r.control_id, r.status, r.ack_code) for r in rows] == [
        ("REJ-1", "rejected", "AR"),
        (None, "rejected", "AR"),
        (None, "rejected", "AR"),
    ]
    assert rows[1].raw == no_id and rows[2].raw == "this is not HL7"
    # Rejected control IDs are idempotent too.
    assert feed.send(msg.adt("A40", control="REJ-1"))["code"] == "AR"
    assert len(feed.messages()) == 3


def test_an_unexpected_failure_is_an_error_kept_for_review(db, feed, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError(f"boom with {msg.NHS}")

    monkeypatch.setitem(events._HANDLERS, "A01", broken)
    with caplog.at_level(logging.INFO, logger="boardround.adt"):
        ack = feed.send(msg.adt("A01", control="BUG-1"))
    assert ack["code"] == "AE" and "207" in ack["err"]
    assert msg.NHS not in caplog.text and "RuntimeError" in caplog.text
    [row] = feed.messages()
    assert row.status == "error" and row.raw is not None


def test_logs_never_carry_patient_identifiers(db, feed, caplog):
    with caplog.at_level(logging.DEBUG, logger="boardround"):
        feed.send(msg.adt("A01", control="LOG-1"))
        feed.send(msg.adt("A01", control="LOG-2", location="NOWHERE^^1", visit="V0002"))
        feed.send(msg.adt("A99", control="LOG-3"))
        feed.send(msg.adt("A01", control="LOG-1"))
        feed.send("MSH|garbage " + msg.NHS)
    assert "LOG-1" in caplog.text and "LOG-2" in caplog.text
    for identifier in (msg.NHS, msg.MRN, "SMITH", "ANN", "V0001", "V0002", "19400517"):
        assert identifier not in caplog.text


# -- A11 cancel admit -----------------------------------------------------------------------------------


def test_a11_removes_a_stay_nothing_else_refers_to(db, feed):
    feed.send(msg.adt("A01"))
    stay_id = feed.stay().id
    assert feed.send(msg.adt("A11"))["code"] == "AA"
    assert feed.stay() is None
    assert db.exec(select(StayLocation).where(StayLocation.stay_id == stay_id)).first() is None
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "cancel_admit")).one()
    assert event.before["pas_visit_number"] == "V0001" and event.after["deleted"] is True
    # The bed is free again, and the patient remains registered.
    assert feed.send(msg.adt("A01", visit="V0002"))["code"] == "AA"


def test_a11_ends_a_stay_with_clinical_records_as_destination_98(db, feed):
    feed.send(msg.adt("A01"))
    stay = feed.stay()
    factories.make_edd(db, feed.principal, stay, date(2026, 3, 12), now=NOW)
    assert feed.send(msg.adt("A11", evn_time="20260310103000"))["code"] == "AA"
    stay = feed.stay()
    assert stay.discharged_at == at("1030") and stay.discharge_destination_code == "98"
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "cancel_admit")).one().after["ended"] is True


def test_a11_for_an_unknown_visit_is_a_no_op(db, feed):
    assert feed.send(msg.adt("A11"))["code"] == "AA"


def test_a11_after_discharge_is_an_error(db, feed):
    feed.send(msg.adt("A01"))
    feed.send(msg.adt("A03", discharge="20260310100000"))
    ack = feed.send(msg.adt("A11"))
    assert ack["code"] == "AE" and "A13" in ack["text"]


# -- A12 cancel transfer --------------------------------------------------------------------------------


def test_a12_puts_the_patient_back_as_if_never_moved(db, feed):
    feed.send(msg.adt("A01"))
    feed.send(msg.adt("A02", location="W2^^B02", evn_time="20260310094500"))
    ack = feed.send(msg.adt("A12", location="W1^^B01", prior_location="W2^^B02"))
    assert ack["code"] == "AA"
    stay = feed.stay()
    assert stay.ward_id == feed.ward1.id and stay.bed_id == feed.bed(feed.ward1, "B01").id
    assert feed.locations(stay) == [("W1", "B01", at("0900"), None)]
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "cancel_transfer")).first()
    assert event.before["ward_id"] == feed.ward2.id and event.after["ward_id"] == feed.ward1.id
    # Sent again (new control ID): already back, no change.
    assert feed.send(msg.adt("A12", location="W1^^B01"))["code"] == "AA"


def test_a12_when_the_old_bed_was_taken_meanwhile_is_an_error(db, feed):
    feed.send(msg.adt("A01"))
    feed.send(msg.adt("A02", location="W2^^B02", evn_time="20260310094500"))
    feed.send(msg.adt("A01", visit="V0002", nhs="9990000018", mrn="K200002", location="W1^^B01"))
    ack = feed.send(msg.adt("A12"))
    assert ack["code"] == "AE" and "another patient" in ack["text"]
    assert feed.stay().ward_id == feed.ward2.id


def test_a12_without_an_earlier_location_or_for_an_unknown_visit_is_an_error(db, feed):
    assert feed.send(msg.adt("A12"))["code"] == "AE"
    feed.send(msg.adt("A01"))
    ack = feed.send(msg.adt("A12", location=""))
    assert ack["code"] == "AE" and "no earlier location" in ack["text"]


def test_a12_of_a_bed_move_on_the_same_ward_with_only_the_ward_sent(db, feed):
    feed.send(msg.adt("A01"))
    feed.send(msg.adt("A02", location="W1^^B03", evn_time="20260310094500"))
    assert feed.send(msg.adt("A12", location="W1"))["code"] == "AA"
    assert feed.stay().bed_id == feed.bed(feed.ward1, "B01").id


def test_a12_naming_a_different_location_is_an_error(db, feed):
    feed.send(msg.adt("A01"))
    feed.send(msg.adt("A02", location="W2^^B02", evn_time="20260310094500"))
    ack = feed.send(msg.adt("A12", location="W1^^B04"))
    assert ack["code"] == "AE" and "before the last transfer" in ack["text"]


# -- A13 cancel discharge -------------------------------------------------------------------------------


def test_a13_reopens_the_stay_in_its_bed(db, feed):
    feed.send(msg.adt("A01"))
    feed.send(msg.adt("A03", discharge="20260310100000", destination="19"))
    assert feed.send(msg.adt("A13"))["code"] == "AA"
    stay = feed.stay()
    assert stay.discharged_at is None and stay.discharge_destination_code is None
    assert stay.bed_id == feed.bed(feed.ward1, "B01").id
    assert feed.locations(stay) == [("W1", "B01", at("0900"), None)]
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "cancel_discharge")).one()
    assert event.before["discharged_at"] == "2026-03-10T10:00:00+00:00" and event.after["discharged_at"] is None
    assert event.actor_id == feed.account.id
    # A13 for a current stay changes nothing; the stay can be discharged again.
    assert feed.send(msg.adt("A13"))["code"] == "AA"
    assert feed.send(msg.adt("A03", discharge="20260310104000"))["code"] == "AA"


def test_a13_when_the_bed_was_taken_meanwhile_is_an_error(db, feed):
    feed.send(msg.adt("A01"))
    feed.send(msg.adt("A03", discharge="20260310100000"))
    feed.send(msg.adt("A01", visit="V0002", nhs="9990000018", mrn="K200002", location="W1^^B01"))
    ack = feed.send(msg.adt("A13"))
    assert ack["code"] == "AE" and "another patient" in ack["text"]
    assert feed.stay().discharged_at is not None


def test_a13_when_the_patient_was_admitted_again_is_an_error(db, feed):
    feed.send(msg.adt("A01"))
    feed.send(msg.adt("A03", discharge="20260310100000"))
    feed.send(msg.adt("A01", visit="V0002", location="W2^^B01", admit="20260310101500"))
    ack = feed.send(msg.adt("A13"))
    assert ack["code"] == "AE" and "admitted again" in ack["text"]


def test_a13_for_an_unknown_visit_is_an_error(db, feed):
    assert feed.send(msg.adt("A13"))["code"] == "AE"


# -- review: retry and retention -------------------------------------------------------------------------


def test_retry_after_fixing_the_map(db, feed):
    feed.send(msg.adt("A01", control="RETRY-1", location="AMU7^^12"))
    add_mapping(db, point_of_care="AMU7", pas_bed="12", ward_code="W2", bed_label="B02")
    db.commit()
    ack = review.retry(db, control_id="RETRY-1", actor=feed.principal, now=NOW)
    assert ack.code == "AA"
    [row] = feed.messages()
    assert (row.control_id, row.status, row.raw, row.retried_at) == ("RETRY-1", "applied", None, NOW)
    assert feed.stay().bed_id == feed.bed(feed.ward2, "B02").id


def test_retry_that_fails_again_keeps_the_message(db, feed):
    feed.send(msg.adt("A01", control="RETRY-2", location="AMU7^^12"))
    ack = review.retry(db, control_id="RETRY-2", actor=feed.principal, now=NOW)
    assert ack.code == "AE"
    [row] = feed.messages()
    assert (row.control_id, row.status, row.retried_at) == ("RETRY-2", "error", NOW)
    assert row.raw is not None


def test_purge_clears_old_text_then_old_rows(db, feed):
    feed.send(msg.adt("A01", control="OLD-1", location="NOWHERE"), now=NOW - timedelta(days=40))
    feed.send(msg.adt("A01", control="NEW-1", location="NOWHERE"), now=NOW)
    cleared, deleted = review.purge(
        db, raw_older_than=NOW - timedelta(days=30), rows_older_than=NOW - timedelta(days=400)
    )
    assert (cleared, deleted) == (1, 0)
    assert [(m.control_id, m.raw is None) for m in feed.messages()] == [("OLD-1", True), ("NEW-1", False)]
    assert review.purge(db, raw_older_than=NOW + timedelta(minutes=1), rows_older_than=NOW - timedelta(days=1)) == (
        1,
        1,
    )


# -- manual admissions on a ward the PAS feeds -------------------------------------------------


def _admitted_by_hand(db, feed, ward, bed_label: str | None) -> Stay:
    """A ward manager admits the patient the next messages are about, before the PAS says so."""
    manager = factories.principal(db, factories.make_user(db, "ward_manager", wards=[ward]))
    patient = factories.make_patient(
        db, manager, nhs_number=msg.NHS, mrn=msg.MRN, family_name="Smith", given_name="Ann",
        date_of_birth=date(1940, 5, 17),
    )  # fmt: skip
    bed = feed.bed(ward, bed_label) if bed_label else None
    return stays.admit(
        db, actor=manager, patient=patient, ward_id=ward.id, bed_id=bed.id if bed else None,
        admitted_at=at("0915"), now=at("0920"),
    )  # fmt: skip


def test_a01_adopts_the_stay_admitted_by_hand_instead_of_a_second_one(db, feed):
    add_mapping(db, point_of_care="W1", pas_bed=None, ward_code="W1", bed_label=None)
    manual = _admitted_by_hand(db, feed, feed.ward1, "B02")
    board = ward_board(db, feed.ward1, NOW.date())
    waiting = [row.stay.awaiting_pas for row in board.rows if row.stay]
    assert board.pas_feed is True and waiting == [True]  # flagged: the PAS has not admitted them yet
    ack = feed.send(msg.adt("A01", control="ADOPT-1", location="W1^^B01"))
    assert ack["code"] == "AA", ack
    assert db.exec(select(func.count()).select_from(Stay)).one() == 1
    db.expire_all()
    stay = db.get(Stay, manual.id)
    # The PAS's visit number, bed and consultant; the ward's admission time and history kept.
    assert stay.pas_visit_number == "V0001" and stay.bed_id == feed.bed(feed.ward1, "B01").id
    assert stay.admitted_at == at("0915") and stay.responsible_consultant == "DR MARK JONES"
    assert [(w, b) for w, b, _, _ in feed.locations(stay)] == [("W1", "B02"), ("W1", "B01")]
    adopted = db.exec(select(AuditEvent).where(AuditEvent.action == "adopt_manual_stay")).one()
    assert adopted.after == {"pas_visit_number": "V0001", "pas_admitted_at": "2026-03-10T09:00:00+00:00"}
    assert adopted.actor_id == feed.account.id
    hl7 = db.exec(select(AuditEvent).where(AuditEvent.action == "hl7_a01")).one()
    assert hl7.after["effect"] == "manual admission adopted: moved to the PAS location"
    assert [row.stay.awaiting_pas for row in ward_board(db, feed.ward1, NOW.date()).rows if row.stay] == [False]
    # The same A01 again is the visit it now knows.
    assert feed.send(msg.adt("A01", control="ADOPT-2", location="W1^^B01"))["code"] == "AA"
    assert db.exec(select(func.count()).select_from(Stay)).one() == 1


def test_a03_for_a_visit_never_seen_discharges_the_stay_admitted_by_hand(db, feed):
    manual = _admitted_by_hand(db, feed, feed.ward2, None)
    ack = feed.send(msg.adt("A03", control="ADOPT-3", location="W2^^B03", discharge="20260310103000"))
    assert ack["code"] == "AA", ack
    db.expire_all()
    stay = db.get(Stay, manual.id)
    assert stay.pas_visit_number == "V0001" and stay.discharged_at == at("1030")
    assert db.exec(select(func.count()).select_from(Stay)).one() == 1


def test_a_stay_from_the_feed_is_never_adopted(db, feed):
    feed.send(msg.adt("A01"))
    ack = feed.send(msg.adt("A01", visit="V0009", location="W2^^B01"))
    assert ack["code"] == "AE" and "already in hospital" in ack["text"]
