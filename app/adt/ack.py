"""HL7 original-mode acknowledgements (ACK): MSA-1 AA/AE/AR, MSA-2 the control ID, ERR why."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import hl7
from hl7.containers import Message

from app.adt.errors import ERROR_LABELS
from app.adt.parser import Envelope

RECEIVING_APPLICATION = "BOARDROUND"
DEFAULT_VERSION = "2.5.1"
_LOCATION = re.compile(r"([A-Z][A-Z0-9]{2})-(\d{1,3})")
_VERSION = re.compile(r"2\.[1-9](\.\d{1,2})?")


@dataclass(frozen=True)
class Ack:
    code: str  # AA / AE / AR
    text: str  # MSA-3 / ERR text: never holds patient identifiers
    control_id: str  # MSA-2, echoing MSH-10 of the message
    message: str  # the ACK itself, segments separated by carriage returns

    @property
    def accepted(self) -> bool:
        return self.code == "AA"


def _timestamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")


def _version_at_least_25(version: str) -> bool:
    parts = [int(p) for p in re.findall(r"\d+", version)[:2]]
    return len(parts) == 2 and (parts[0], parts[1]) >= (2, 5)


def _skeleton(envelope: Envelope) -> Message:
    """An ACK shell for a message we could not mirror: our own MSH and an empty MSA."""
    version = envelope.header.version if _VERSION.fullmatch(envelope.header.version) else DEFAULT_VERSION
    ack = hl7.parse("MSH|^~\\&|\rMSA|AR|")
    ack.assign_field(RECEIVING_APPLICATION, "MSH", 1, 3)
    ack.assign_field("ACK", "MSH", 1, 9)
    ack.assign_field("P", "MSH", 1, 11)
    ack.assign_field(version, "MSH", 1, 12)
    return ack


def build(
    envelope: Envelope,
    *,
    code: str,
    text: str = "",
    error_code: int | None = None,
    location: str | None = None,
    now: datetime,
) -> Ack:
    control_id = envelope.header.control_id
    source = envelope.message
    ack_id = hl7.generate_message_control_id()
    if source is not None:
        try:
            ack = source.create_ack(code, message_id=ack_id, application=_own_application(source))
        except Exception:  # noqa: BLE001 - a header too odd to mirror still gets an answer
            ack = _skeleton(envelope)
    else:
        ack = _skeleton(envelope)
    msh = ack.segment("MSH")
    msh.assign_field(_timestamp(now), 7)
    msh.assign_field(ack_id, 10)
    msa = ack.segment("MSA")
    msa.assign_field(code, 1)
    msa.assign_field(ack.escape(control_id), 2)
    if text:
        msa.assign_field(ack.escape(text), 3)
    if code != "AA" and error_code is not None:
        ack.append(_err(ack, ack.extract_field("MSH", 1, 12, 1, 1), text, error_code, location))
    return Ack(code=code, text=text, control_id=control_id, message=str(ack))


def _own_application(source: Message) -> str | None:
    """We answer as the application the sender addressed (MSH-5), or as ourselves."""
    try:
        named = source.extract_field("MSH", 1, 5, 1, 1)
    except (IndexError, KeyError):
        named = ""
    return None if named else RECEIVING_APPLICATION


def _err(ack: Message, version: str, text: str, error_code: int, location: str | None) -> object:
    err = ack.create_segment([ack.create_field(["ERR"])])
    label = ERROR_LABELS.get(error_code, "Application error")
    where = _LOCATION.fullmatch(location or "")
    if _version_at_least_25(version):
        if where:
            err.assign_field(where.group(1), 2, 1, 1)
            err.assign_field("1", 2, 1, 2)
            err.assign_field(where.group(2), 2, 1, 3)
        err.assign_field(str(error_code), 3, 1, 1)
        err.assign_field(label, 3, 1, 2)
        err.assign_field("HL70357", 3, 1, 3)
        err.assign_field("E", 4)
        err.assign_field(ack.escape(text), 8)
    else:
        # v2.3/2.4 ERR-1 (ELD): segment ^ sequence ^ field ^ code & text & table.
        if where:
            err.assign_field(where.group(1), 1, 1, 1)
            err.assign_field("1", 1, 1, 2)
            err.assign_field(where.group(2), 1, 1, 3)
        err.assign_field(str(error_code), 1, 1, 4, 1)
        err.assign_field(ack.escape(text) or label, 1, 1, 4, 2)
        err.assign_field("HL70357", 1, 1, 4, 3)
    return err
