"""Why a message was not applied, in the terms of an HL7 acknowledgement.

Every text here reaches the PAS (MSA-3 / ERR) and our review queue, so it names fields,
event types and PAS location codes but never a patient identifier, name or date of birth.
"""

from __future__ import annotations

# HL7 table 0357, message error condition codes.
SEGMENT_SEQUENCE_ERROR = 100
REQUIRED_FIELD_MISSING = 101
DATA_TYPE_ERROR = 102
TABLE_VALUE_NOT_FOUND = 103
UNSUPPORTED_MESSAGE_TYPE = 200
UNSUPPORTED_EVENT = 201
UNSUPPORTED_VERSION = 203
UNKNOWN_KEY = 204
DUPLICATE_KEY = 205
RECORD_LOCKED = 206
INTERNAL_ERROR = 207

ERROR_LABELS = {
    SEGMENT_SEQUENCE_ERROR: "Segment sequence error",
    REQUIRED_FIELD_MISSING: "Required field missing",
    DATA_TYPE_ERROR: "Data type error",
    TABLE_VALUE_NOT_FOUND: "Table value not found",
    UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    UNSUPPORTED_EVENT: "Unsupported event code",
    UNSUPPORTED_VERSION: "Unsupported version id",
    UNKNOWN_KEY: "Unknown key identifier",
    DUPLICATE_KEY: "Duplicate key identifier",
    RECORD_LOCKED: "Application record locked",
    INTERNAL_ERROR: "Application internal error",
}


class AdtProblem(Exception):
    """A message we answer with AE or AR instead of AA."""

    ack_code = "AE"
    status = "error"

    def __init__(self, text: str, *, code: int = INTERNAL_ERROR, location: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.code = code
        # Where in the message, e.g. "PV1-44" (segment-field), for ERR.
        self.location = location


class Rejected(AdtProblem):
    """AR: not something we process at all (unparseable, unsupported type, event or version)."""

    ack_code = "AR"
    status = "rejected"


class Invalid(AdtProblem):
    """AE: a well-formed ADT message we could not apply (bad data, unmapped ward, a rule)."""
