"""Alerts and alert preferences

`alert`: one row per (rule, subject, recipient), unique, so an alert is created once however many
workers run the check (docs/alerts.md); its email delivery state. `alertpreferences`: what each
person wants to receive and the address to send it to.

Revision ID: a1e7500a0001
Revises: 6bedf10a1110
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import app.models.base

revision: str = "a1e7500a0001"
down_revision: str | Sequence[str] | None = "6bedf10a1110"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alertpreferences",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column(
            "choices", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "alert",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("ward_id", sa.Integer(), nullable=False),
        sa.Column("stay_id", sa.Integer(), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("link_route", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column(
            "link_params", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("read_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("email_state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("email_attempts", sa.Integer(), nullable=False),
        sa.Column("emailed_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("email_state IN ('none', 'pending', 'sending', 'sent', 'failed')", name="email_state"),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["stay_id"],
            ["stay.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ward_id"],
            ["ward.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule_code", "subject", "recipient_id"),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index("ix_alert_email_state", ["email_state"], unique=False)
        batch_op.create_index("ix_alert_recipient_id_read_at", ["recipient_id", "read_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_recipient_id_read_at")
        batch_op.drop_index("ix_alert_email_state")

    op.drop_table("alert")
    op.drop_table("alertpreferences")
