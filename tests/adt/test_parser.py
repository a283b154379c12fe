"""Reading HL7 v2 ADT messages: versions, repetitions, escapes, separators, times. No database."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest

from app.adt import ack as acks
from app.adt.errors import Invalid
from app.adt.parser import parse_time, read_adt, read_envelope, split_messages
from tests.adt import messages as msg


def facts(text: str):
    envelope = read_envelope(text)
    assert envelope.problem is None, envelope.problem and envelope.problem.text
    return read_adt(envelope)


@pytest.mark.parametrize("version", ["2.3", "2.4", "2.5.1"])
def test_versions(version):
    adt = facts(msg.adt("A01", version=version, control="C1"))
    assert adt.header.version == version
    assert adt.header.event == "A01"
    assert adt.header.control_id == "C1"
    assert adt.patient.nhs_number == msg.NHS and adt.patient.mrn == msg.MRN
    assert adt.visit.visit_number == "V0001"
    assert adt.visit.location.point_of_care == "W1" and adt.visit.location.bed == "B01"
    assert adt.visit.consultant == "DR MARK JONES"


def test_event_from_evn_when_msh9_has_only_the_type():
    text = msg.adt("A02").replace("ADT^A02^ADT_A01", "ADT")
    assert read_envelope(text).header.event == "A02"


def test_pid3_repetitions_pick_nhs_and_hospital_number():
    text = msg.adt("A01", nhs=None, mrn=None).replace(
        "PID|1||||", "PID|1||99887^^^OLDPAS^XX~K555^^^RXX^PI~9434765919^^^NHS~||"
    )
    adt = facts(text)
    assert adt.patient.nhs_number == "9434765919"  # CX.4 = NHS is enough
    assert adt.patient.mrn == "K555"  # typed PI wins over an untyped identifier


def test_hospital_number_falls_back_to_first_other_identifier():
    text = msg.adt("A01", nhs=None, mrn=None).replace("PID|1||||", "PID|1||ABC123^^^RXX||")
    assert facts(text).patient.mrn == "ABC123"
    assert facts(text).patient.nhs_number is None


def test_nhs_number_in_pid2_when_labelled():
    text = msg.adt("A01", nhs=None).replace("PID|1||", "PID|1|9434765919^^^NHS^NH|")
    assert facts(text).patient.nhs_number == "9434765919"


def test_escaped_characters_in_names():
    adt = facts(msg.adt("A01", family="O\\T\\BRIEN\\F\\X", given="MARY\\S\\ANN\\R\\JO\\E\\"))
    assert adt.patient.family_name == "O&BRIEN|X"
    assert adt.patient.given_name == "MARY^ANN~JO\\"


def test_undecodable_escapes_never_reach_the_logs(caplog):
    with caplog.at_level(logging.DEBUG):
        adt = facts(msg.adt("A01", family="O\\\\NEILL\\Zfoo\\", given="ANN\\X4\\"))
    assert adt.patient.family_name.startswith("O")
    assert "NEILL" not in caplog.text and "ANN" not in caplog.text


def test_legal_name_repetition_is_chosen():
    text = msg.adt("A01").replace("SMITH^ANN^^^MRS^^L", "SMYTHE^NAN^^^^^A~SMITH^ANN^^^MRS^^L")
    assert facts(text).patient.family_name == "SMITH"


def test_repeating_segments_we_ignore():
    extra = [
        "NK1|1|SMITH^JOHN|SPO^Spouse|1 HIGH STREET",
        "NK1|2|SMITH^JANE|DAU^Daughter",
        "OBX|1|NM|8302-2^Height^LN||162|cm",
        "OBX|2|NM|29463-7^Weight^LN||61|kg",
        "AL1|1||^PENICILLIN",
    ]
    adt = facts(msg.adt("A01", extra=extra))
    assert adt.patient.family_name == "SMITH" and adt.visit.visit_number == "V0001"


def test_missing_optional_fields():
    adt = facts(msg.adt("A01", attending="", sex="", admit="", dob="19400517", location="W1"))
    assert adt.visit.consultant is None
    assert adt.patient.sex is None
    assert adt.visit.admitted_at is None
    assert adt.visit.location.bed == ""
    assert adt.event_at == datetime(2026, 3, 10, 10, tzinfo=UTC)  # falls back to MSH-7


def test_short_pv1_and_no_pv1():
    short = msg.adt("A04").split("\r")
    short[-2] = "PV1|1|O"
    adt = facts("\r".join(short))
    assert adt.visit.visit_number == "" and adt.visit.location is None
    assert facts(msg.adt("A04", pv1=False)).visit is None


@pytest.mark.parametrize("sep", ["\r", "\n", "\r\n"])
def test_segment_separators(sep):
    adt = facts(msg.adt("A01", sep=sep))
    assert adt.visit.visit_number == "V0001" and adt.patient.mrn == msg.MRN


def test_hl7_null_is_empty():
    assert facts(msg.adt("A08", attending='""')).visit.consultant is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20260115093000", datetime(2026, 1, 15, 9, 30, tzinfo=UTC)),  # GMT: London = UTC
        ("20260715093000", datetime(2026, 7, 15, 8, 30, tzinfo=UTC)),  # BST: London = UTC+1
        ("202607150930", datetime(2026, 7, 15, 8, 30, tzinfo=UTC)),  # minute precision
        ("20260715", datetime(2026, 7, 14, 23, 0, tzinfo=UTC)),  # London midnight in BST
        ("20260715093000.1234", datetime(2026, 7, 15, 8, 30, 0, 123400, tzinfo=UTC)),
        ("20260715093000+0000", datetime(2026, 7, 15, 9, 30, tzinfo=UTC)),  # offset wins
        ("20260715093000+0100", datetime(2026, 7, 15, 8, 30, tzinfo=UTC)),
        ("20260715093000-0500", datetime(2026, 7, 15, 14, 30, tzinfo=UTC)),
        ("20260329003000", datetime(2026, 3, 29, 0, 30, tzinfo=UTC)),  # just before the clocks go forward
        ("20260329023000", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),  # just after (02:30 BST)
        ("20261025013000", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),  # the repeated hour: first (BST)
        ("", None),
    ],
)
def test_times(text, expected):
    assert parse_time(text, "PV1-44") == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026031O0900",
        "20261310090000",
        "20260230",
        "2026-03-10",
        "20260310093000+01",
        "1",
        "99991231235959-1400",  # overflowed converting to UTC
        "00010101000000+1400",
        "18991231",
    ],
)
def test_bad_times_name_the_field(text):
    with pytest.raises(Invalid) as caught:
        parse_time(text, "PV1-44")
    assert caught.value.location == "PV1-44" and caught.value.code == 102


@pytest.mark.parametrize(
    ("change", "location"),
    [
        ({"admit": "2026031X090000"}, "PV1-44"),
        ({"discharge": "tomorrow"}, "PV1-45"),
        ({"dob": "1940O517"}, "PID-7"),
        ({"dob": "00010101"}, "PID-7"),
        ({"nhs": "94347659X9"}, "PID-3"),
        ({"nhs": "9434765918"}, "PID-3"),  # wrong check digit
        ({"sex": "Q"}, "PID-8"),
        ({"visit": "V" * 41}, "PV1-19"),
    ],
)
def test_wrong_types_are_invalid(change, location):
    with pytest.raises(Invalid) as caught:
        facts(msg.adt("A01", **change))
    assert caught.value.location == location
    assert caught.value.ack_code == "AE"


def test_dob_and_sex_codes():
    adt = facts(msg.adt("A01", dob="19400517000000", sex="2"))
    assert adt.patient.date_of_birth == date(1940, 5, 17) and adt.patient.sex == "female"


@pytest.mark.parametrize(
    ("text", "code", "location"),
    [
        ("", 100, None),
        ("hello world", 100, None),
        ("PID|1||123", 100, None),
        (msg.adt("A01", version="3.0"), 203, "MSH-12"),
        (msg.adt("A01", version="two"), 203, "MSH-12"),
        (msg.adt("A01").replace("ADT^A01", "ORU^R01"), 200, "MSH-9"),
        (msg.adt("A40"), 201, "MSH-9"),
        (msg.adt("A05"), 201, "MSH-9"),
    ],
)
def test_rejections(text, code, location):
    problem = read_envelope(text).problem
    assert problem is not None and problem.ack_code == "AR"
    assert problem.code == code and problem.location == location


def test_missing_control_id_is_rejected():
    text = msg.adt("A01", control="X").replace("|X|P|", "||P|")
    envelope = read_envelope(text)
    assert envelope.problem.ack_code == "AR" and envelope.problem.location == "MSH-10"


def test_split_messages_mllp_blank_lines_and_back_to_back():
    a, b, c, d = (msg.adt("A01", control=f"F{i}") for i in range(4))
    data = (
        b"\x0b"
        + a.encode()
        + b"\x1c\r"
        + b"\x0b"
        + b.replace("\r", "\n").encode()
        + b"\x1c\r\n\n"
        + c.replace("\r", "\r\n").encode()
        + b"\r\n\r\n"
        + d.encode()
    )
    found = split_messages(b"FHS|^~\\&\rBHS|^~\\&\r" + data + b"BTS|4\rFTS|1\r")
    assert [read_envelope(m).header.control_id for m in found] == ["F0", "F1", "F2", "F3"]
    assert all(read_envelope(m).problem is None for m in found)


def test_split_messages_keeps_leading_junk_as_its_own_chunk():
    found = split_messages(b"junk line\r" + msg.adt("A01", control="OK1").encode())
    assert len(found) == 2
    assert read_envelope(found[0]).problem is not None
    assert read_envelope(found[1]).header.control_id == "OK1"


@pytest.mark.parametrize("version", ["2.3", "2.5.1"])
def test_ack_shapes(version):
    envelope = read_envelope(msg.adt("A01", control="ACK1", version=version))
    now = datetime(2026, 3, 10, 11, tzinfo=UTC)
    ok = msg.ack_fields(acks.build(envelope, code="AA", now=now).message)
    assert ok == {"code": "AA", "control_id": "ACK1", "text": "", "type": "ACK", "err": ""}
    bad = acks.build(envelope, code="AE", text="PV1-3 bad | thing", error_code=103, location="PV1-3", now=now)
    fields = msg.ack_fields(bad.message)
    assert fields["code"] == "AE" and fields["text"] == "PV1-3 bad | thing"
    assert "103" in fields["err"] and "PV1" in fields["err"]
    assert bad.message.startswith("MSH|^~\\&|BOARDROUND|RXX|PAS|RXX|20260310110000+0000||ACK^A01")


def test_ack_for_garbage():
    envelope = read_envelope(b"\x00\xff not hl7")
    ack = acks.build(envelope, code="AR", text="Not HL7", error_code=100, now=datetime(2026, 3, 10, tzinfo=UTC))
    assert msg.ack_fields(ack.message)["code"] == "AR"
    assert msg.ack_fields(ack.message)["control_id"] == ""
