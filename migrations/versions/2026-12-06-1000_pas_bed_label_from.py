"""PAS location map: which PV1-3 components make a point of care's PAS bed

`paslocation.bed_label_from` (stable codes: `bed` PV1-3.3, the default and the behaviour before;
`room` PV1-3.2; `room_bed` PV1-3.2, `bed_label_separator`, PV1-3.3) on the row mapping a whole
point of care; rows for one PAS bed keep the defaults (docs/adt.md).

Revision ID: 505c892011f5
Revises: 2e2b6c96a7bd
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "505c892011f5"
down_revision: str | Sequence[str] | None = "2e2b6c96a7bd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("paslocation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "bed_label_from", sqlmodel.sql.sqltypes.AutoString(length=10), server_default="bed", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "bed_label_separator", sqlmodel.sql.sqltypes.AutoString(length=5), server_default="", nullable=False
            )
        )
        batch_op.create_check_constraint("bed_label_from", "bed_label_from IN ('bed', 'room', 'room_bed')")
        batch_op.create_check_constraint(
            "bed_label_on_ward_rows", "pas_bed IS NULL OR (bed_label_from = 'bed' AND bed_label_separator = '')"
        )


def downgrade() -> None:
    with op.batch_alter_table("paslocation", schema=None) as batch_op:
        batch_op.drop_constraint("bed_label_on_ward_rows", type_="check")
        batch_op.drop_constraint("bed_label_from", type_="check")
        batch_op.drop_column("bed_label_separator")
        batch_op.drop_column("bed_label_from")
