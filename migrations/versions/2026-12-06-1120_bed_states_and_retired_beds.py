"""bed states the flow team manages, their history, retired beds, versioned sites

Reference tables with stable codes: `bedstate` (open, closed, cleaning, reserved) and
`bedclosurereason`. `bed.state_code` is the state now (`is_open` stays, false exactly when
closed); `bedstateperiod` keeps every stretch of time in a state, so time closed, awaiting
cleaning or reserved can be measured. Existing beds get one period from their creation: open, or
closed (reason "other") for beds already closed. `bed.retired_at` marks a bed taken out of the
ward (kept: its history refers to it). `site.version` for optimistic concurrency on renames. An
index on `staylocation (bed_id, ended_at)`: when each bed's last patient left.

Revision ID: 6bedf10a1100
Revises: b13e2dca3b35
Create Date: 2026-12-06 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision: str = "6bedf10a1100"
down_revision: str | Sequence[str] | None = "b13e2dca3b35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BED_STATES = [
    ("open", "Open"),
    ("closed", "Closed"),
    ("cleaning", "Awaiting cleaning"),
    ("reserved", "Reserved for an expected admission"),
]

CLOSURE_REASONS = [
    ("infection_control", "Infection prevention and control (outbreak or isolation)"),
    ("staffing", "Not enough staff"),
    ("estates", "Estates or maintenance work"),
    ("equipment", "Equipment fault"),
    ("escalation_not_in_use", "Escalation bed not in use"),
    ("other", "Other (see the note)"),
]


def _reference(name: str, length: int) -> None:
    op.create_table(
        name,
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=length), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f(f"pk_{name}")),
    )


def _seed(name: str, rows: list[tuple[str, str]]) -> None:
    table = sa.table(name, sa.column("code"), sa.column("label"), sa.column("sort_order"), sa.column("active"))
    op.bulk_insert(table, [{"code": c, "label": v, "sort_order": i, "active": True} for i, (c, v) in enumerate(rows)])


def upgrade() -> None:
    _reference("bedstate", 20)
    _reference("bedclosurereason", 40)
    _seed("bedstate", BED_STATES)
    _seed("bedclosurereason", CLOSURE_REASONS)
    op.create_table(
        "bedstateperiod",
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bed_id", sa.Integer(), nullable=False),
        sa.Column("state_code", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("started_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closure_reason_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("reserved_for", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("reserved_from", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at", name=op.f("ck_bedstateperiod_ends_after_start")
        ),
        sa.ForeignKeyConstraint(["bed_id"], ["bed.id"], name=op.f("fk_bedstateperiod_bed_id_bed")),
        sa.ForeignKeyConstraint(
            ["closure_reason_code"],
            ["bedclosurereason.code"],
            name=op.f("fk_bedstateperiod_closure_reason_code_bedclosurereason"),
        ),
        sa.ForeignKeyConstraint(["set_by_id"], ["user.id"], name=op.f("fk_bedstateperiod_set_by_id_user")),
        sa.ForeignKeyConstraint(["state_code"], ["bedstate.code"], name=op.f("fk_bedstateperiod_state_code_bedstate")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bedstateperiod")),
    )
    with op.batch_alter_table("bedstateperiod", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bedstateperiod_bed_id"), ["bed_id"], unique=False)
        batch_op.create_index(
            "uq_bedstateperiod_current",
            ["bed_id"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )

    with op.batch_alter_table("bed", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("state_code", sqlmodel.sql.sqltypes.AutoString(length=20), server_default="open", nullable=False)
        )
        batch_op.add_column(sa.Column("retired_at", app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_bed_state_code_bedstate"), "bedstate", ["state_code"], ["code"])

    # Beds closed before states existed are closed now, for a reason nobody recorded.
    op.execute(sa.text("UPDATE bed SET state_code = 'closed' WHERE is_open = :false").bindparams(false=False))
    op.execute(
        sa.text(
            "INSERT INTO bedstateperiod (bed_id, state_code, started_at, closure_reason_code, note, reserved_for,"
            " reserved_from, created_at, updated_at)"
            " SELECT id, state_code, created_at, CASE WHEN state_code = 'closed' THEN 'other' END, '', '', '',"
            " created_at, created_at FROM bed"
        )
    )

    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    # When a bed's last patient left (the board reads it for every bed): by bed, not by stay.
    op.create_index("ix_staylocation_bed_id_ended_at", "staylocation", ["bed_id", "ended_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_staylocation_bed_id_ended_at", table_name="staylocation")
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.drop_column("version")
    with op.batch_alter_table("bed", schema=None) as batch_op:
        batch_op.drop_constraint("fk_bed_state_code_bedstate", type_="foreignkey")
        batch_op.drop_column("retired_at")
        batch_op.drop_column("state_code")
    with op.batch_alter_table("bedstateperiod", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_bedstateperiod_current",
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_bedstateperiod_bed_id"))
    op.drop_table("bedstateperiod")
    op.drop_table("bedclosurereason")
    op.drop_table("bedstate")
