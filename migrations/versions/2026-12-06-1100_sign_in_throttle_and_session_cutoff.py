"""Sign-in throttle counters; sessions end at sign-out

`signinthrottle` counts sign-in attempts per client address and per username before the password
is checked (app/auth/throttle.py, docs/adr/0011-sign-in-throttling.md). It replaces the per-user
`failed_sign_ins` and `locked_until` columns, which counted after the check and locked the
account: those are dropped (an account locked at the upgrade is no longer locked).

`user.sessions_valid_after`: sign-out ends every session of that user signed in before it
(docs/adr/0002-sessions-and-csrf.md).

Revision ID: b13e2dca3b35
Revises: ba16ea5bbe93
Create Date: 2026-12-06 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision: str = "b13e2dca3b35"
down_revision: str | Sequence[str] | None = "ba16ea5bbe93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signinthrottle",
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_allowed_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key"),
    )
    with op.batch_alter_table("signinthrottle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signinthrottle_window_started_at"), ["window_started_at"], unique=False)
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sessions_valid_after", app.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.drop_column("failed_sign_ins")
        batch_op.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locked_until", app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("failed_sign_ins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.drop_column("sessions_valid_after")
    with op.batch_alter_table("signinthrottle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signinthrottle_window_started_at"))
    op.drop_table("signinthrottle")
