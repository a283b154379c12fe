"""PAS location map and received HL7 ADT messages

`paslocation` maps PAS locations (HL7 PV1-3 point of care, optionally with a bed) to our wards
and beds; `adtmessage` stores every received message control ID with its outcome (idempotency)
and, for messages that were not applied, the raw text for review (see docs/adt.md).

Revision ID: c68197e17ef9
Revises: dccf38b60786
Create Date: 2026-11-23 01:21:06.655766
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision: str = "c68197e17ef9"
down_revision: str | Sequence[str] | None = "dccf38b60786"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "adtmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("control_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("received_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("hl7_version", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("sending_application", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("ack_code", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("error_text", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_location", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.Column("retried_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("ack_code IN ('AA', 'AE', 'AR')", name="ack_code"),
        sa.CheckConstraint("status IN ('applied', 'rejected', 'error')", name="status"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("control_id"),
    )
    with op.batch_alter_table("adtmessage", schema=None) as batch_op:
        batch_op.create_index("ix_adtmessage_status_received_at", ["status", "received_at"], unique=False)

    op.create_table(
        "paslocation",
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pas_point_of_care", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("pas_bed", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("ward_id", sa.Integer(), nullable=False),
        sa.Column("bed_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("pas_bed IS NOT NULL OR bed_id IS NULL", name="bed_needs_pas_bed"),
        sa.ForeignKeyConstraint(
            ["bed_id"],
            ["bed.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ward_id"],
            ["ward.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("paslocation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_paslocation_ward_id"), ["ward_id"], unique=False)
        batch_op.create_index(
            "uq_paslocation_bed_level",
            ["pas_point_of_care", "pas_bed"],
            unique=True,
            sqlite_where=sa.text("pas_bed IS NOT NULL"),
            postgresql_where=sa.text("pas_bed IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_paslocation_ward_level",
            ["pas_point_of_care"],
            unique=True,
            sqlite_where=sa.text("pas_bed IS NULL"),
            postgresql_where=sa.text("pas_bed IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("paslocation", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_paslocation_ward_level",
            sqlite_where=sa.text("pas_bed IS NULL"),
            postgresql_where=sa.text("pas_bed IS NULL"),
        )
        batch_op.drop_index(
            "uq_paslocation_bed_level",
            sqlite_where=sa.text("pas_bed IS NOT NULL"),
            postgresql_where=sa.text("pas_bed IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_paslocation_ward_id"))

    op.drop_table("paslocation")
    with op.batch_alter_table("adtmessage", schema=None) as batch_op:
        batch_op.drop_index("ix_adtmessage_status_received_at")

    op.drop_table("adtmessage")
