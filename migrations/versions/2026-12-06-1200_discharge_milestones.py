"""Discharge milestones

Reference table `milestonetype`: the standard milestones of a discharge (medicines to take home,
transport, package of care...), the pathways each applies to, its owner role and when it falls
due. Table `dischargemilestone`: one row per stay and milestone, made when a pathway is set
(docs/milestones.md).

Revision ID: 7c1a5e0d2001
Revises: 6bedf10a1200
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from app.models.base import UTCDateTime

revision: str = "7c1a5e0d2001"
down_revision: str | Sequence[str] | None = "6bedf10a1200"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# code, label, owner role, pathways, days before the EDD, hour (Europe/London)
MILESTONE_TYPES = [
    ("tto", "Medicines to take home ready", "pharmacist", "0123", 1, 16),
    ("discharge_letter", "Discharge letter written", "doctor", "0123", 1, 17),
    ("family_informed", "Family or carers informed", "nurse", "0123", 2, 17),
    ("transport", "Transport booked", "nurse", "123", 1, 12),
    ("package_of_care", "Package of care confirmed", "social_worker", "1", 2, 12),
    ("equipment", "Equipment delivered", "therapist", "12", 1, 17),
    ("district_nurse", "District nurse referral sent", "nurse", "1", 1, 12),
    ("placement", "Bed or placement confirmed", "social_worker", "23", 2, 12),
]


def upgrade() -> None:
    op.create_table(
        "milestonetype",
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("owner_role_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("pathways", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("due_days_before_edd", sa.Integer(), nullable=False),
        sa.Column("due_hour", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_role_code"], ["staffrole.code"], name=op.f("fk_milestonetype_owner_role_code_staffrole")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_milestonetype")),
    )
    types = sa.table(
        "milestonetype",
        sa.column("code"),
        sa.column("label"),
        sa.column("sort_order"),
        sa.column("active"),
        sa.column("owner_role_code"),
        sa.column("pathways"),
        sa.column("due_days_before_edd"),
        sa.column("due_hour"),
    )
    op.bulk_insert(
        types,
        [
            {
                "code": code,
                "label": label,
                "sort_order": i,
                "active": True,
                "owner_role_code": role,
                "pathways": pathways,
                "due_days_before_edd": days,
                "due_hour": hour,
            }
            for i, (code, label, role, pathways, days, hour) in enumerate(MILESTONE_TYPES)
        ],
    )
    op.create_table(
        "dischargemilestone",
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stay_id", sa.Integer(), nullable=False),
        sa.Column("type_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("owner_role_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("done_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_role_code"], ["staffrole.code"], name=op.f("fk_dischargemilestone_owner_role_code_staffrole")
        ),
        sa.ForeignKeyConstraint(["stay_id"], ["stay.id"], name=op.f("fk_dischargemilestone_stay_id_stay")),
        sa.ForeignKeyConstraint(
            ["type_code"], ["milestonetype.code"], name=op.f("fk_dischargemilestone_type_code_milestonetype")
        ),
        sa.ForeignKeyConstraint(["updated_by_id"], ["user.id"], name=op.f("fk_dischargemilestone_updated_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dischargemilestone")),
        sa.UniqueConstraint("stay_id", "type_code", name="uq_dischargemilestone_stay_type"),
    )
    op.create_index(op.f("ix_dischargemilestone_stay_id"), "dischargemilestone", ["stay_id"], unique=False)
    op.create_index(op.f("ix_dischargemilestone_due_at"), "dischargemilestone", ["due_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_dischargemilestone_due_at"), table_name="dischargemilestone")
    op.drop_index(op.f("ix_dischargemilestone_stay_id"), table_name="dischargemilestone")
    op.drop_table("dischargemilestone")
    op.drop_table("milestonetype")
