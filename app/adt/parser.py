"""Read HL7 v2.x ADT messages (with the `hl7` package) into plain facts.

Two steps, because the acknowledgement needs the header even when the body is wrong:

1. `read_envelope` decodes, normalises segment separators, parses with `hl7.parse` and
   checks the header (MSH-9 type and event, MSH-10 control ID, MSH-12 version). Problems
   here are `Rejected` (AR).
2. `read_adt` reads PID, PV1 and EVN into an `Adt`. Wrong or missing data here is `Invalid`
   (AE), with the field named in the error.

Times without a zone are Europe/London wall-clock time (GMT or BST on that date); times with
an offset use it. Everything returned is UTC.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

import hl7
import hl7.util
from hl7.containers import Message, Segment

from app.adt import errors as codes
from app.adt.errors import Invalid, Rejected
from app.core.clock import LONDON
from app.core.types import FIRST_DATE, LAST_DATE
from app.patients import nhs_number as nhs

# The hl7 package logs the offending field value (a name, an identifier) when it meets an escape
# sequence it cannot decode. Patient data never goes to application logs: silence that logger
# (a level and a filter, which logging.config calls such as uvicorn's leave alone).
hl7.util.logger.setLevel(logging.CRITICAL + 1)
hl7.util.logger.addFilter(lambda record: False)

SUPPORTED_EVENTS = {"A01", "A02", "A03", "A04", "A08", "A11", "A12", "A13"}
EVENT_NAMES = {
    "A01": "admit",
    "A02": "transfer",
    "A03": "discharge",
    "A04": "register",
    "A08": "update patient information",
    "A11": "cancel admit",
    "A12": "cancel transfer",
    "A13": "cancel discharge",
}
MAX_CONTROL_ID = 100
HL7_NULL = '""'

_VERSION = re.compile(r"2\.[1-9](\.\d{1,2})?")
# DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]
_DTM = re.compile(r"(\d{4}(?:\d{2}(?:\d{2}(?:\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,4})?)?)?)?)?)?)([+-]\d{4})?")
_SEX = {
    "M": "male",
    "F": "female",
    "O": "other",
    "A": "other",
    "U": "unknown",
    "N": "unknown",
    # NHS Data Dictionary person stated gender codes, which some PAS send instead.
    "1": "male",
    "2": "female",
    "9": "unknown",
    "0": "unknown",
    "X": "unknown",
}
_READ_SEGMENTS = {"MSH", "EVN", "PID", "PV1"}
_NHS_TYPES = {"NH"}
_HOSPITAL_NUMBER_TYPES = ("MR", "PI", "PT", "PN", "HC", "LR")


# -- envelope ---------------------------------------------------------------------------


@dataclass
class Header:
    control_id: str = ""
    event: str = ""
    message_type: str = ""
    version: str = ""
    sending_application: str = ""
    sent_at: datetime | None = None


@dataclass
class Envelope:
    header: Header
    message: Message | None  # None when the text could not be parsed at all
    problem: Rejected | None = None


def decode(raw: bytes | str) -> str:
    """UTF-8 (the HL7 v2.8 preference), falling back to Latin-1 for older feeds."""
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def normalise(text: str) -> str:
    """One carriage return between segments, whatever line endings the sender used."""
    text = text.replace("\r\n", "\r").replace("\n", "\r").strip(" \t\r\x0b\x1c\x00")
    return "\r".join(seg for seg in text.split("\r") if seg.strip())


def value(seg: Segment | None, field_num: int, rep: int = 1, comp: int = 1, sub: int = 1) -> str:
    """One unescaped value of a segment, '' if absent (and for the HL7 null "")."""
    if seg is None:
        return ""
    try:
        found = seg.extract_field(1, field_num, rep, comp, sub)
    except (IndexError, TypeError, ValueError):
        return ""
    found = str(found).strip()
    return "" if found == HL7_NULL else found


def repetitions(seg: Segment | None, field_num: int) -> int:
    if seg is None or field_num >= len(seg):
        return 0
    return len(seg(field_num))


def first_segment(message: Message, name: str) -> Segment | None:
    try:
        return message.segment(name)
    except KeyError:
        return None


def read_envelope(raw: bytes | str) -> Envelope:
    """Parse and check the header. Never raises: problems come back in `problem`."""
    header = Header()
    text = normalise(decode(raw))
    if not text.startswith("MSH") or len(text) < 8:
        return Envelope(
            header,
            None,
            Rejected("Not an HL7 v2 message: it must start with an MSH segment", code=codes.SEGMENT_SEQUENCE_ERROR),
        )
    # Only the segments we read are parsed (NK1, OBX, AL1... repeat and cost time for nothing).
    text = "\r".join(seg for seg in text.split("\r") if seg[:3] in _READ_SEGMENTS)
    try:
        message = hl7.parse(text)
        msh = message.segment("MSH")
    except Exception:  # noqa: BLE001 - anything the parser chokes on is a rejection, not a crash
        return Envelope(
            header, None, Rejected("The message could not be parsed as HL7 v2", code=codes.SEGMENT_SEQUENCE_ERROR)
        )
    header.control_id = value(msh, 10)
    header.message_type = value(msh, 9, 1, 1)
    header.event = value(msh, 9, 1, 2).upper()
    header.version = value(msh, 12)
    header.sending_application = value(msh, 3)[:100]
    if not header.event:
        # Version 2.1 and 2.2 senders carry the event only in EVN-1.
        header.event = value(first_segment(message, "EVN"), 1).upper()
    header.event = header.event[:10]
    header.version = header.version[:20]
    try:
        header.sent_at = parse_time(value(msh, 7), "MSH-7")
    except Invalid:
        header.sent_at = None
    env = Envelope(header, message)
    if not header.control_id:
        env.problem = Rejected(
            "MSH-10 message control ID is missing", code=codes.REQUIRED_FIELD_MISSING, location="MSH-10"
        )
    elif len(header.control_id) > MAX_CONTROL_ID:
        header.control_id = ""
        env.problem = Rejected(
            f"MSH-10 message control ID is longer than {MAX_CONTROL_ID} characters",
            code=codes.DATA_TYPE_ERROR,
            location="MSH-10",
        )
    elif not _VERSION.fullmatch(header.version):
        env.problem = Rejected(
            "MSH-12 version is missing or not an HL7 v2.x version", code=codes.UNSUPPORTED_VERSION, location="MSH-12"
        )
    elif header.message_type.upper() != "ADT":
        env.problem = Rejected(
            "Only ADT messages are accepted here (MSH-9)", code=codes.UNSUPPORTED_MESSAGE_TYPE, location="MSH-9"
        )
    elif header.event not in SUPPORTED_EVENTS:
        env.problem = Rejected(
            f"Unsupported ADT event {header.event or '(none)'}: accepted events are "
            + ", ".join(sorted(SUPPORTED_EVENTS)),
            code=codes.UNSUPPORTED_EVENT,
            location="MSH-9",
        )
    return env


# -- values -------------------------------------------------------------------------------


def _offset(text: str) -> timezone:
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[3:5])
    if hours > 14 or minutes > 59:
        raise ValueError("offset out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _in_range(day: date) -> date:
    """The same years as every other input (app.core.types): 1900 to 2100."""
    if not FIRST_DATE <= day <= LAST_DATE:
        raise ValueError("date out of range")
    return day


def parse_time(text: str, where: str) -> datetime | None:
    """An HL7 DTM/TS as an aware UTC datetime; naive times are Europe/London wall-clock time.

    In the autumn hour that happens twice the first (BST) is taken; a time in the spring gap
    is read with the GMT offset (so 01:30 on the last Sunday of March is 01:30 UTC).
    """
    if not text:
        return None
    match = _DTM.fullmatch(text)
    if match is None:
        raise Invalid(f"{where} is not a valid HL7 date/time", code=codes.DATA_TYPE_ERROR, location=where)
    digits, offset = match.groups()
    try:
        local = hl7.parse_datetime(digits)
        zone = _offset(offset) if offset else LONDON
        _in_range(local.date())  # before the conversion to UTC, which overflows at year 1 or 9999
    except ValueError:
        raise Invalid(f"{where} is not a valid HL7 date/time", code=codes.DATA_TYPE_ERROR, location=where) from None
    return local.replace(tzinfo=zone).astimezone(UTC)


def parse_date(text: str, where: str) -> date | None:
    """A date (PID-7): the calendar date as written, times and offsets ignored."""
    if not text:
        return None
    match = _DTM.fullmatch(text)
    if match is None or len(match.group(1)) < 8:
        raise Invalid(f"{where} is not a valid HL7 date", code=codes.DATA_TYPE_ERROR, location=where)
    try:
        return _in_range(hl7.parse_datetime(match.group(1)[:8]).date())
    except ValueError:
        raise Invalid(f"{where} is not a valid HL7 date", code=codes.DATA_TYPE_ERROR, location=where) from None


# -- ADT facts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """HL7 PL: point of care ^ room ^ bed ^ facility."""

    point_of_care: str
    room: str = ""
    bed: str = ""
    facility: str = ""

    def describe(self) -> str:
        return self.point_of_care + (f" bed {self.bed}" if self.bed else "")


@dataclass
class PatientFacts:
    nhs_number: str | None = None
    mrn: str | None = None
    family_name: str = ""
    given_name: str = ""
    date_of_birth: date | None = None
    sex: str | None = None

    @property
    def identified(self) -> bool:
        return bool(self.nhs_number or self.mrn)


@dataclass
class VisitFacts:
    visit_number: str = ""
    patient_class: str = ""
    location: Location | None = None
    prior_location: Location | None = None
    consultant: str | None = None
    admitted_at: datetime | None = None
    discharged_at: datetime | None = None
    disposition: str = ""
    destination: str = ""


@dataclass
class Adt:
    header: Header
    event_at: datetime | None  # EVN-6 event occurred, else EVN-2 recorded, else MSH-7
    patient: PatientFacts | None
    visit: VisitFacts | None
    has_pv1: bool = False
    notes: list[str] = field(default_factory=list)


def _location(seg: Segment, field_num: int) -> Location | None:
    poc = value(seg, field_num, 1, 1)
    if not poc:
        return None
    return Location(
        point_of_care=poc[:40],
        room=value(seg, field_num, 1, 2)[:40],
        bed=value(seg, field_num, 1, 3)[:40],
        facility=value(seg, field_num, 1, 4),
    )


def _identifiers(pid: Segment, facts: PatientFacts) -> None:
    others: list[tuple[str, str]] = []
    nhs_raw: str | None = None
    for field_num in (3, 2):  # PID-3 patient identifier list; PID-2 (external ID) in older feeds
        for rep in range(1, repetitions(pid, field_num) + 1):
            ident = value(pid, field_num, rep, 1)
            if not ident:
                continue
            authority = value(pid, field_num, rep, 4).upper()
            kind = value(pid, field_num, rep, 5).upper()
            if kind in _NHS_TYPES or authority == "NHS":
                nhs_raw = nhs_raw or ident
            elif field_num == 3:
                others.append((kind, ident))
    if nhs_raw:
        try:
            facts.nhs_number = nhs.normalise(nhs_raw)
        except ValueError as exc:
            raise Invalid(f"PID-3 NHS number: {exc}", code=codes.DATA_TYPE_ERROR, location="PID-3") from None
    typed = [ident for kind, ident in others if kind in _HOSPITAL_NUMBER_TYPES]
    mrn = typed[0] if typed else (others[0][1] if others else None)
    if mrn is not None:
        if len(mrn) > 20:
            raise Invalid(
                "PID-3 hospital number is longer than 20 characters", code=codes.DATA_TYPE_ERROR, location="PID-3"
            )
        facts.mrn = mrn


def _patient(pid: Segment) -> PatientFacts:
    facts = PatientFacts()
    _identifiers(pid, facts)
    # PID-5: the legal name (XPN.7 = L) if marked, else the first repetition.
    reps = repetitions(pid, 5)
    chosen = 1
    for rep in range(1, reps + 1):
        if value(pid, 5, rep, 7).upper() == "L":
            chosen = rep
            break
    facts.family_name = value(pid, 5, chosen, 1)
    facts.given_name = value(pid, 5, chosen, 2)
    facts.date_of_birth = parse_date(value(pid, 7), "PID-7")
    sex = value(pid, 8).upper()
    if sex:
        if sex not in _SEX:
            raise Invalid(
                "PID-8 administrative sex is not a known code", code=codes.TABLE_VALUE_NOT_FOUND, location="PID-8"
            )
        facts.sex = _SEX[sex]
    return facts


def _consultant(pv1: Segment) -> str | None:
    """PV1-7 attending doctor (XCN) as a display name: 'Dr Jane Smith', else the code."""
    if repetitions(pv1, 7) == 0:
        return None
    code = value(pv1, 7, 1, 1)
    family = value(pv1, 7, 1, 2)
    given = value(pv1, 7, 1, 3)
    prefix = value(pv1, 7, 1, 6)
    name = " ".join(part for part in (prefix, given, family) if part)
    return (name or code)[:200] or None


def _visit(pv1: Segment) -> VisitFacts:
    visit = VisitFacts()
    visit.visit_number = value(pv1, 19, 1, 1)
    if len(visit.visit_number) > 40:
        raise Invalid("PV1-19 visit number is longer than 40 characters", code=codes.DATA_TYPE_ERROR, location="PV1-19")
    visit.patient_class = value(pv1, 2).upper()
    visit.location = _location(pv1, 3)
    visit.prior_location = _location(pv1, 6)
    visit.consultant = _consultant(pv1)
    visit.disposition = value(pv1, 36)
    visit.destination = value(pv1, 37, 1, 1)
    visit.admitted_at = parse_time(value(pv1, 44), "PV1-44")
    visit.discharged_at = parse_time(value(pv1, 45), "PV1-45")
    return visit


def read_adt(envelope: Envelope) -> Adt:
    """The facts of an accepted envelope; raises Invalid (AE) naming the field at fault."""
    message = envelope.message
    assert message is not None and envelope.problem is None
    header = envelope.header
    msh = message.segment("MSH")
    evn = first_segment(message, "EVN")
    pid = first_segment(message, "PID")
    pv1 = first_segment(message, "PV1")
    sent_at = parse_time(value(msh, 7), "MSH-7")
    event_at = parse_time(value(evn, 6), "EVN-6") or parse_time(value(evn, 2), "EVN-2") or sent_at
    if pid is None:
        raise Invalid("PID segment is missing", code=codes.SEGMENT_SEQUENCE_ERROR, location="PID")
    patient = _patient(pid)
    visit = _visit(pv1) if pv1 is not None else None
    return Adt(header=header, event_at=event_at, patient=patient, visit=visit, has_pv1=pv1 is not None)


# -- files --------------------------------------------------------------------------------

_LINE = re.compile(rb"\r\n|\r|\n")


def split_messages(data: bytes) -> list[bytes]:
    """Messages in a file: MLLP-framed, separated by blank lines, or simply one after another.

    A message starts at each MSH segment; batch and file header/trailer segments are dropped;
    anything before the first MSH comes back as its own chunk (it will be rejected, and kept).
    """
    data = data.replace(b"\x0b", b"\n").replace(b"\x1c", b"\n")
    messages: list[list[bytes]] = []
    current: list[bytes] | None = None
    orphan: list[bytes] | None = None
    for line in _LINE.split(data):
        segment = line.strip(b" \t\x00")
        if not segment:
            continue
        tag = segment[:3]
        if tag in (b"FHS", b"BHS", b"BTS", b"FTS"):
            continue
        if tag == b"MSH":
            current = [segment]
            messages.append(current)
        elif current is None:
            if orphan is None:
                orphan = []
                messages.append(orphan)
            orphan.append(segment)
        else:
            current.append(segment)
    return [b"\r".join(segments) + b"\r" for segments in messages]
