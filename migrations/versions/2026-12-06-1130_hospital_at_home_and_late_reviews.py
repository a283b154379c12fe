"""Hospital at Home and virtual wards; referral services; late-entry reviews

Discharge destinations `19H` (Hospital at Home) and `19V` (virtual ward): local refinements of
the national 19 (usual place of residence), which is what the first two characters say. A new
reference table `referralservice` lists where discharge referrals go, Hospital at Home, virtual
wards and Home First among them. `dailyreview.late_entry_reason`: a review recorded after its day
says why (empty for a review recorded on its day).

Revision ID: 6bedf10a1110
Revises: 6bedf10a1100
Create Date: 2026-12-06 11:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "6bedf10a1110"
down_revision: str | Sequence[str] | None = "6bedf10a1100"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DESTINATIONS = [
    ("19H", "Usual place of residence, under Hospital at Home (acute care at home)"),
    ("19V", "Usual place of residence, on a virtual ward (remote monitoring)"),
]

REFERRAL_SERVICES = [
    ("care_transfer_hub", "Care transfer hub (integrated discharge team)"),
    ("social_care", "Adult social care assessment"),
    ("home_first", "Home First: discharge to assess at home"),
    ("reablement", "Reablement or home-based rehabilitation (pathway 1)"),
    ("community_bed", "Community rehabilitation bed (pathway 2)"),
    ("care_home", "Care home placement (pathway 3)"),
    ("hospital_at_home", "Hospital at Home (acute care at home)"),
    ("virtual_ward", "Virtual ward (remote monitoring at home)"),
    ("community_nursing", "District or community nursing"),
    ("therapy", "Therapy (physiotherapy, occupational therapy)"),
    ("mental_health", "Mental health liaison"),
    ("palliative_care", "Palliative care or hospice"),
]


def upgrade() -> None:
    destination = sa.table(
        "dischargedestination", sa.column("code"), sa.column("label"), sa.column("sort_order"), sa.column("active")
    )
    present = {row[0] for row in op.get_bind().execute(sa.select(destination.c.code))}
    missing = [(c, v) for c, v in DESTINATIONS if c not in present]
    if missing:
        # Listed straight after 19 (sort order 0): the rest move down to make room.
        op.execute(
            destination.update()
            .where(destination.c.sort_order > 0, destination.c.code.not_in([c for c, _ in DESTINATIONS]))
            .values(sort_order=destination.c.sort_order + len(DESTINATIONS))
        )
        op.bulk_insert(
            destination,
            [
                {"code": c, "label": v, "sort_order": 1 + [d for d, _ in DESTINATIONS].index(c), "active": True}
                for c, v in missing
            ],
        )
    op.create_table(
        "referralservice",
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_referralservice")),
    )
    services = sa.table(
        "referralservice", sa.column("code"), sa.column("label"), sa.column("sort_order"), sa.column("active")
    )
    op.bulk_insert(
        services,
        [{"code": c, "label": v, "sort_order": i, "active": True} for i, (c, v) in enumerate(REFERRAL_SERVICES)],
    )
    with op.batch_alter_table("dailyreview", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "late_entry_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), server_default="", nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("dailyreview", schema=None) as batch_op:
        batch_op.drop_column("late_entry_reason")
    op.drop_table("referralservice")
    # Destinations in use stay (stays point at them; upgrading again keeps them as they are).
    codes = [c for c, _ in DESTINATIONS]
    bind = op.get_bind()
    used = {
        row[0]
        for row in bind.execute(
            sa.text(
                "SELECT DISTINCT discharge_destination_code FROM stay WHERE discharge_destination_code IN ('19H', '19V')"
            )
        )
    }
    if not used:
        destination = sa.table("dischargedestination", sa.column("code"), sa.column("sort_order"))
        op.execute(destination.delete().where(destination.c.code.in_(codes)))
        op.execute(
            destination.update()
            .where(destination.c.sort_order > len(codes))
            .values(sort_order=destination.c.sort_order - len(codes))
        )
