"""round entries, referrals, strengths and choice

Revision ID: dccf38b60786
Revises: 5eedref0001
Create Date: 2026-11-23 00:46:55.006753
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision: str = "dccf38b60786"
down_revision: str | Sequence[str] | None = "5eedref0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "boardroundentry",
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("board_round_id", sa.Integer(), nullable=False),
        sa.Column("stay_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("completed_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("outcome IN ('reviewed', 'no_change', 'skipped')", name="outcome"),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["board_round_id"],
            ["boardround.id"],
        ),
        sa.ForeignKeyConstraint(
            ["stay_id"],
            ["stay.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("board_round_id", "stay_id"),
    )
    with op.batch_alter_table("boardroundentry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_boardroundentry_board_round_id"), ["board_round_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_boardroundentry_stay_id"), ["stay_id"], unique=False)

    op.create_table(
        "referral",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stay_id", sa.Integer(), nullable=False),
        sa.Column("to_service", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("decision_on", sa.Date(), nullable=True),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["stay_id"],
            ["stay.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_stay_id"), ["stay_id"], unique=False)

    with op.batch_alter_table("stay", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("what_matters", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("strengths", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("choice_information_given_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("choice_offered_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("choice_deadline", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stay", schema=None) as batch_op:
        batch_op.drop_column("choice_deadline")
        batch_op.drop_column("choice_offered_on")
        batch_op.drop_column("choice_information_given_on")
        batch_op.drop_column("strengths")
        batch_op.drop_column("what_matters")

    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_stay_id"))

    op.drop_table("referral")
    with op.batch_alter_table("boardroundentry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_boardroundentry_stay_id"))
        batch_op.drop_index(batch_op.f("ix_boardroundentry_board_round_id"))

    op.drop_table("boardroundentry")
