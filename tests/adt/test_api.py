"""POST /api/v1/hl7/adt over real HTTP with bearer tokens, on both databases."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.models import AdtMessage, IdempotencyKey, Stay
from tests import factories
from tests.adt import messages as msg

HL7 = {"Content-Type": "x-application/hl7-v2+er7"}


@pytest.fixture
def pas(db, api_as):
    factories.make_ward(db, beds=4, code="W1")
    return api_as(factories.make_user(db, "integration", is_service_account=True))


def test_a_message_is_applied_and_answered_with_an_ack(db, pas):
    r = pas.post("/hl7/adt", content=msg.adt("A01", control="HTTP-1").encode(), headers=HL7)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("x-application/hl7-v2+er7")
    ack = msg.ack_fields(r.text)
    assert (ack["code"], ack["control_id"]) == ("AA", "HTTP-1")
    assert db.exec(select(Stay).where(Stay.pas_visit_number == "V0001")).one().discharged_at is None
    assert db.exec(select(AdtMessage.channel).where(AdtMessage.control_id == "HTTP-1")).one() == "http"


def test_text_plain_and_newline_separators_are_accepted(db, pas):
    body = msg.adt("A04", control="HTTP-2", sep="\n")
    r = pas.post("/hl7/adt", content=body.encode(), headers={"Content-Type": "text/plain; charset=utf-8"})
    assert msg.ack_fields(r.text)["code"] == "AA"


def test_latin1_names_are_decoded(db, pas):
    body = msg.adt("A04", control="HTTP-3", family="BRONTË").encode("latin-1")
    r = pas.post("/hl7/adt", content=body, headers={"Content-Type": "x-application/hl7-v2+er7; charset=iso-8859-1"})
    assert msg.ack_fields(r.text)["code"] == "AA"
    from app.models import Patient

    assert db.exec(select(Patient.family_name).where(Patient.mrn == msg.MRN)).one() == "BRONTË"


def test_errors_and_rejections_are_acks_too(db, pas):
    r = pas.post("/hl7/adt", content=msg.adt("A01", control="HTTP-4", location="NOWHERE").encode(), headers=HL7)
    assert r.status_code == 200 and msg.ack_fields(r.text)["code"] == "AE"
    r = pas.post("/hl7/adt", content=b"not hl7 at all", headers=HL7)
    assert r.status_code == 200 and msg.ack_fields(r.text)["code"] == "AR"
    # The same control ID again: the same answer.
    r = pas.post("/hl7/adt", content=msg.adt("A01", control="HTTP-4").encode(), headers=HL7)
    assert msg.ack_fields(r.text)["code"] == "AE"


def test_json_is_not_hl7(db, pas):
    r = pas.post("/hl7/adt", json={"message": "MSH|..."})
    assert r.status_code == 415


def test_without_a_token_401(db, api_as):
    r = api_as(None).post("/hl7/adt", content=msg.adt("A01").encode(), headers=HL7)
    assert r.status_code == 401


def test_a_nurse_token_403(db, api_as, nurse):
    r = api_as(nurse).post("/hl7/adt", content=msg.adt("A01").encode(), headers=HL7)
    assert r.status_code == 403
    assert db.exec(select(AdtMessage)).first() is None


def test_an_idempotency_key_is_not_read_here_the_control_id_is_the_key(db, pas):
    """MSH-10 already makes a resent message a no-op: a generic client's Idempotency-Key changes nothing."""
    headers = HL7 | {"Idempotency-Key": "same-key"}
    first = pas.post("/hl7/adt", content=msg.adt("A01", control="HTTP-K1").encode(), headers=headers)
    other = msg.adt("A01", control="HTTP-K2", nhs=None, mrn="K2", visit="V0002", location="W1^^B02^RXX01^^N")
    second = pas.post("/hl7/adt", content=other.encode(), headers=headers)
    assert [msg.ack_fields(r.text)["code"] for r in (first, second)] == ["AA", "AA"]
    assert "idempotent-replayed" not in second.headers
    assert db.exec(select(IdempotencyKey)).all() == []
