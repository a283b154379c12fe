"""Role for care transfer hub and social care partner staff

`transfer_hub`: sees the transfer-of-care hub list (patients on pathways 1-3 or with an open
referral, with minimal identifiers) on every ward, and nothing else (docs/permissions.md).

Revision ID: 7c1a5e0d2003
Revises: 7c1a5e0d2002
Create Date: 2026-12-06 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c1a5e0d2003"
down_revision: str | Sequence[str] | None = "7c1a5e0d2002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "transfer_hub"


def upgrade() -> None:
    roles = sa.table(
        "staffrole",
        sa.column("code"),
        sa.column("label"),
        sa.column("site_wide"),
        sa.column("can_sign_in"),
        sa.column("sort_order"),
        sa.column("active"),
    )
    bind = op.get_bind()
    if bind.execute(sa.select(roles.c.code).where(roles.c.code == ROLE)).first() is None:
        last = bind.execute(sa.select(sa.func.max(roles.c.sort_order))).scalar() or 0
        op.bulk_insert(
            roles,
            [
                {
                    "code": ROLE,
                    "label": "Care transfer hub or social care partner",
                    "site_wide": True,
                    "can_sign_in": True,
                    "sort_order": last + 1,
                    "active": True,
                }
            ],
        )


def downgrade() -> None:
    # Kept while any account holds the role (users point at it).
    op.execute(
        sa.text('DELETE FROM staffrole WHERE code = :code AND NOT EXISTS (SELECT 1 FROM "user" WHERE role_code = :code)')
        .bindparams(code=ROLE)
    )
