"""The PAS feed: where PAS locations land on our wards, and every HL7 ADT message received."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, Index, Text, text
from sqlmodel import Field, SQLModel

from app.models.base import Timestamped, utc_field


class BedLabelFrom(StrEnum):
    """Which PV1-3 components make a point of care's PAS bed (stable codes, stored)."""

    BED = "bed"  # PV1-3.3 (the default)
    ROOM = "room"  # PV1-3.2: feeds that send the bed (or side room) there
    ROOM_BED = "room_bed"  # PV1-3.2, the separator, PV1-3.3: bay and bed, e.g. BAY3-2


class PasLocation(Timestamped, table=True):
    """Maps a PAS location (HL7 PV1-3 point of care, optionally with a bed) to a ward and bed.

    A row without `pas_bed` maps a whole point of care to a ward, and says which PV1-3
    components make its PAS bed (`bed_label_from`); a row with `pas_bed` maps one PAS bed (so
    built) to one of our beds. Points of care equal to a Ward.code, and PAS beds equal to a
    Bed.label on that ward, need no row.
    """

    __table_args__ = (
        Index(
            "uq_paslocation_ward_level",
            "pas_point_of_care",
            unique=True,
            sqlite_where=text("pas_bed IS NULL"),
            postgresql_where=text("pas_bed IS NULL"),
        ),
        Index(
            "uq_paslocation_bed_level",
            "pas_point_of_care",
            "pas_bed",
            unique=True,
            sqlite_where=text("pas_bed IS NOT NULL"),
            postgresql_where=text("pas_bed IS NOT NULL"),
        ),
        CheckConstraint("pas_bed IS NOT NULL OR bed_id IS NULL", name="bed_needs_pas_bed"),
        CheckConstraint("bed_label_from IN ('bed', 'room', 'room_bed')", name="bed_label_from"),
        # How PAS beds are built is a point of care's setting: PAS-bed rows keep the defaults.
        CheckConstraint(
            "pas_bed IS NULL OR (bed_label_from = 'bed' AND bed_label_separator = '')", name="bed_label_on_ward_rows"
        ),
    )

    id: int = Field(default=None, primary_key=True)
    pas_point_of_care: str = Field(max_length=40)
    pas_bed: str | None = Field(default=None, max_length=40)
    ward_id: int = Field(foreign_key="ward.id", index=True)
    bed_id: int | None = Field(default=None, foreign_key="bed.id")
    bed_label_from: str = Field(default=BedLabelFrom.BED, max_length=10, sa_column_kwargs={"server_default": "bed"})
    # Between room and bed for room_bed; empty otherwise.
    bed_label_separator: str = Field(default="", max_length=5, sa_column_kwargs={"server_default": ""})


class AdtMessage(SQLModel, table=True):
    """One received HL7 message and its outcome: the idempotency key and the review queue.

    `raw` is kept only for messages that were not applied (for review and retry); it holds
    patient identifiers, so it lives only here, never in logs, and is purged after a while
    (`boardround adt purge`, see docs/adt.md).
    """

    __table_args__ = (
        CheckConstraint("status IN ('applied', 'rejected', 'error')", name="status"),
        CheckConstraint("ack_code IN ('AA', 'AE', 'AR')", name="ack_code"),
        Index("ix_adtmessage_status_received_at", "status", "received_at"),
    )

    id: int = Field(default=None, primary_key=True)
    # MSH-10. Unique: a control ID seen before changes nothing and gets its first answer again.
    # Null only for messages so broken that they have none (kept for review).
    control_id: str | None = Field(default=None, max_length=100, unique=True)
    received_at: datetime = utc_field()
    channel: str = Field(max_length=10)  # mllp / http / file
    event: str = Field(default="", max_length=10)  # trigger event, e.g. A01
    hl7_version: str = Field(default="", max_length=20)
    sending_application: str = Field(default="", max_length=100)
    status: str = Field(max_length=10)
    ack_code: str = Field(max_length=2)
    # Why it was not applied: written for people, never contains patient identifiers.
    error_text: str = Field(default="", max_length=1000)
    # HL7 table 0357 code and field (e.g. PV1-44) of the error, to repeat the same ERR on a replay.
    error_code: int | None = None
    error_location: str = Field(default="", max_length=20)
    raw: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    retried_at: datetime | None = utc_field(nullable=True)
