"""Idempotency keys of the JSON API

`idempotencykey` keeps, per principal (user or API token) and `Idempotency-Key`, a hash of the
request and the response it got, so a retried POST gets that response again instead of writing a
second row. Rows are written in the same transaction as the write they protect and deleted a day
later (app/web/idempotency.py, docs/adr/0008-idempotency-keys.md). Not clinical data: not audited.

Revision ID: ba16ea5bbe93
Revises: 505c892011f5
Create Date: 2026-12-06 05:45:24.846910
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import app.models.base

revision: str = "ba16ea5bbe93"
down_revision: str | Sequence[str] | None = "505c892011f5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotencykey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("principal", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column(
            "response_headers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("principal", "key"),
    )
    with op.batch_alter_table("idempotencykey", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotencykey_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("idempotencykey", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotencykey_created_at"))
    op.drop_table("idempotencykey")
