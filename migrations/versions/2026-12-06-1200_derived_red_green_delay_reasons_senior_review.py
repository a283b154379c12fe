"""Derived red/green days, several delay reasons per review, the senior review

`dailyreview` gains what the red/green rule said (`derived_day_status`), the national delay code
of a red day (`day_status_delay_code`), the reason when the team overrode the rule
(`day_status_override_reason`) and the SAFER senior review (`senior_reviewer`,
`senior_reviewed_at`). Reviews recorded before the rule took their typed colour as the rule's
(no override), and a red day without criteria to reside its delay reason as its code.

A review without criteria to reside may now give several delay reasons, exactly one primary:
the child table `reviewdelayreason` (review, national code, primary, list version), backfilled
from the single `delay_reason_code`, which stays as the primary's mirror for the metrics.
`delayreason.list_version` says which version of the national list a code belongs to.

Revision ID: 6bedf10a1200
Revises: 5e55101dc0de
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.base

revision: str = "6bedf10a1200"
down_revision: str | Sequence[str] | None = "5e55101dc0de"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIST_VERSION = "2024/25"


def upgrade() -> None:
    with op.batch_alter_table("delayreason", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "list_version", sqlmodel.sql.sqltypes.AutoString(length=20), server_default=LIST_VERSION, nullable=False
            )
        )
    with op.batch_alter_table("dailyreview", schema=None) as batch_op:
        batch_op.add_column(sa.Column("derived_day_status", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True))
        batch_op.add_column(sa.Column("day_status_delay_code", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "day_status_override_reason",
                sqlmodel.sql.sqltypes.AutoString(length=1000),
                server_default="",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "senior_reviewer", sqlmodel.sql.sqltypes.AutoString(length=200), server_default="", nullable=False
            )
        )
        batch_op.add_column(sa.Column("senior_reviewed_at", app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_dailyreview_day_status_delay_code_delayreason"),
            "delayreason",
            ["day_status_delay_code"],
            ["code"],
        )
    op.create_table(
        "reviewdelayreason",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("reason_code", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("list_version", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["reason_code"], ["delayreason.code"], name=op.f("fk_reviewdelayreason_reason_code_delayreason")
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["dailyreview.id"],
            name=op.f("fk_reviewdelayreason_review_id_dailyreview"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("review_id", "reason_code", name=op.f("pk_reviewdelayreason")),
    )
    op.create_index(
        "ix_reviewdelayreason_one_primary",
        "reviewdelayreason",
        ["review_id"],
        unique=True,
        sqlite_where=sa.text("is_primary"),
        postgresql_where=sa.text("is_primary"),
    )
    # Backfill: each existing delay reason becomes its review's primary; typed colours were the rule's.
    op.execute(
        sa.text(
            "INSERT INTO reviewdelayreason (review_id, reason_code, is_primary, list_version) "
            "SELECT r.id, r.delay_reason_code, :yes, d.list_version FROM dailyreview r "
            "JOIN delayreason d ON d.code = r.delay_reason_code WHERE r.delay_reason_code IS NOT NULL"
        ).bindparams(yes=True)
    )
    op.execute(sa.text("UPDATE dailyreview SET derived_day_status = day_status"))
    op.execute(
        sa.text(
            "UPDATE dailyreview SET day_status_delay_code = delay_reason_code "
            "WHERE day_status = 'red' AND delay_reason_code IS NOT NULL"
        )
    )


def downgrade() -> None:
    op.drop_index("ix_reviewdelayreason_one_primary", table_name="reviewdelayreason")
    op.drop_table("reviewdelayreason")
    with op.batch_alter_table("dailyreview", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_dailyreview_day_status_delay_code_delayreason"), type_="foreignkey")
        batch_op.drop_column("senior_reviewed_at")
        batch_op.drop_column("senior_reviewer")
        batch_op.drop_column("day_status_override_reason")
        batch_op.drop_column("day_status_delay_code")
        batch_op.drop_column("derived_day_status")
    with op.batch_alter_table("delayreason", schema=None) as batch_op:
        batch_op.drop_column("list_version")
