"""Server-side sessions; users linked to an OpenID Connect identity

`usersession`: one row per signed-in browser (docs/adr/0015-server-side-sessions.md). It replaces
`user.sessions_valid_after` (sign-out now ends the user's session rows): dropped. Sessions signed
in before the upgrade end (their cookies name no row): everyone signs in again once.

`user.oidc_issuer` + `user.oidc_subject`: the identity provider's account for this user
(docs/single-sign-on.md), unique together.

`signinpolicy`: whether an administrator allows password sign-in (one row; none: allowed).

Revision ID: 5e55101dc0de
Revises: a1e7500a0001
Create Date: 2026-12-06 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision: str = "5e55101dc0de"
down_revision: str | Sequence[str] | None = "a1e7500a0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signinpolicy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("password_sign_in", sa.Boolean(), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signinpolicy")),
    )
    op.create_table(
        "usersession",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("signed_in_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("client", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_agent", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("oidc_sid", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_usersession_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usersession")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_usersession_token_hash")),
    )
    with op.batch_alter_table("usersession", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_usersession_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_usersession_ended_at"), ["ended_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_usersession_oidc_sid"), ["oidc_sid"], unique=False)
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("oidc_issuer", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))
        batch_op.add_column(sa.Column("oidc_subject", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_user_oidc_issuer_oidc_subject"), ["oidc_issuer", "oidc_subject"])
        batch_op.drop_column("sessions_valid_after")


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sessions_valid_after", app.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.drop_constraint(batch_op.f("uq_user_oidc_issuer_oidc_subject"), type_="unique")
        batch_op.drop_column("oidc_subject")
        batch_op.drop_column("oidc_issuer")
    with op.batch_alter_table("usersession", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usersession_oidc_sid"))
        batch_op.drop_index(batch_op.f("ix_usersession_ended_at"))
        batch_op.drop_index(batch_op.f("ix_usersession_user_id"))
    op.drop_table("usersession")
    op.drop_table("signinpolicy")
