"""Referrals as records of their own: a service, and the moments they move on

`referralservice` gains `decision_target_hours` (how long the trust expects a decision to take)
and `visit_times` (when a specialist team visits the wards), and specialist teams join the list,
with "Other service" for referrals that name none of them. `referral` now points at a service
(`service_code`, the old free text kept as `detail` when it was not simply the service's name)
and records moments, not dates: `sent_at`, the answer (`response` accepted, declined or
challenged, `responded_at`, `challenge_reason`), `assessed_at` and `decided_at`. Existing
referrals keep their dates as 12:00 UTC on the day (the time was never recorded); their
decision, when dated, becomes `decided_at`. docs/referrals.md.

Revision ID: 7c1a5e0d2002
Revises: 7c1a5e0d2001
Create Date: 2026-12-06 12:10:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime, time

import sqlalchemy as sa
import sqlmodel
from alembic import op

from app.models.base import UTCDateTime

revision: str = "7c1a5e0d2002"
down_revision: str | Sequence[str] | None = "7c1a5e0d2001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_SERVICES = [
    ("frailty_team", "Frailty team (specialist)", 24, "Mon-Fri 10:00"),
    ("tissue_viability", "Tissue viability (specialist)", 48, "Tue and Thu 14:00"),
    ("diabetes_team", "Diabetes specialist nurses", 24, "Mon-Fri 11:00"),
    ("dietetics", "Dietetics", 48, ""),
    ("other", "Other service (see detail)", 48, ""),
]
# Services that usually answer within a day.
FAST = {"care_transfer_hub": 24, "hospital_at_home": 4, "virtual_ward": 4, "mental_health": 24, "therapy": 24}
MIDDAY_UTC = time(12, 0)


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("referralservice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision_target_hours", sa.Integer(), server_default="48", nullable=False))
        batch_op.add_column(
            sa.Column("visit_times", sqlmodel.sql.sqltypes.AutoString(length=200), server_default="", nullable=False)
        )
    services = sa.table(
        "referralservice",
        sa.column("code"),
        sa.column("label"),
        sa.column("sort_order"),
        sa.column("active"),
        sa.column("decision_target_hours"),
        sa.column("visit_times"),
    )
    for code, hours in FAST.items():
        op.execute(services.update().where(services.c.code == code).values(decision_target_hours=hours))
    present = {row[0]: row[1] for row in bind.execute(sa.select(services.c.code, services.c.label))}
    last = bind.execute(sa.select(sa.func.max(services.c.sort_order))).scalar() or 0
    op.bulk_insert(
        services,
        [
            {
                "code": c,
                "label": v,
                "sort_order": last + 1 + i,
                "active": True,
                "decision_target_hours": h,
                "visit_times": t,
            }
            for i, (c, v, h, t) in enumerate(NEW_SERVICES)
            if c not in present
        ],
    )
    present |= {c: v for c, v, _, _ in NEW_SERVICES}

    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=200), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("sent_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("response", sqlmodel.sql.sqltypes.AutoString(length=20), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("responded_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "challenge_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), server_default="", nullable=False
            )
        )
        batch_op.add_column(sa.Column("assessed_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True))

    # Existing referrals: the service their text names (its code or label), else "other" with the
    # text kept as the detail; dates become 12:00 UTC on the day.
    by_text = {c.casefold(): c for c in present} | {v.casefold(): c for c, v in present.items()}
    referral = sa.table(
        "referral",
        sa.column("id"),
        sa.column("to_service"),
        sa.column("sent_on", sa.Date()),
        sa.column("decision_on", sa.Date()),
        sa.column("service_code"),
        sa.column("detail"),
        sa.column("sent_at", UTCDateTime(timezone=True)),
        sa.column("decided_at", UTCDateTime(timezone=True)),
    )
    rows = bind.execute(sa.select(referral.c.id, referral.c.to_service, referral.c.sent_on, referral.c.decision_on))
    for ref_id, text, sent_on, decision_on in list(rows):
        code = by_text.get((text or "").strip().casefold())
        bind.execute(
            referral.update()
            .where(referral.c.id == ref_id)
            .values(
                service_code=code or "other",
                detail="" if code else (text or "")[:200],
                sent_at=datetime.combine(sent_on, MIDDAY_UTC, tzinfo=UTC),
                decided_at=datetime.combine(decision_on, MIDDAY_UTC, tzinfo=UTC) if decision_on else None,
            )
        )

    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.alter_column("service_code", existing_type=sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False)
        batch_op.alter_column("sent_at", existing_type=UTCDateTime(timezone=True), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_referral_service_code_referralservice"), "referralservice", ["service_code"], ["code"]
        )
        batch_op.create_index("ix_referral_service_code_sent_at", ["service_code", "sent_at"], unique=False)
        batch_op.drop_column("to_service")
        batch_op.drop_column("sent_on")
        batch_op.drop_column("decision_on")


def downgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.add_column(sa.Column("to_service", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column("sent_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("decision_on", sa.Date(), nullable=True))
    referral = sa.table(
        "referral",
        sa.column("id"),
        sa.column("to_service"),
        sa.column("sent_on", sa.Date()),
        sa.column("decision_on", sa.Date()),
        sa.column("service_code"),
        sa.column("detail"),
        sa.column("sent_at", UTCDateTime(timezone=True)),
        sa.column("decided_at", UTCDateTime(timezone=True)),
    )
    labels = dict(bind.execute(sa.text("SELECT code, label FROM referralservice")).all())
    rows = bind.execute(
        sa.select(referral.c.id, referral.c.service_code, referral.c.detail, referral.c.sent_at, referral.c.decided_at)
    )
    for ref_id, code, detail, sent_at, decided_at in list(rows):
        bind.execute(
            referral.update()
            .where(referral.c.id == ref_id)
            .values(
                to_service=(detail if code == "other" and detail else labels.get(code, code))[:200],
                sent_on=sent_at.date(),
                decision_on=decided_at.date() if decided_at else None,
            )
        )
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.alter_column("to_service", existing_type=sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False)
        batch_op.alter_column("sent_on", existing_type=sa.Date(), nullable=False)
        batch_op.drop_index("ix_referral_service_code_sent_at")
        batch_op.drop_constraint("fk_referral_service_code_referralservice", type_="foreignkey")
        for name in ("decided_at", "assessed_at", "challenge_reason", "responded_at", "response", "sent_at", "detail"):
            batch_op.drop_column(name)
        batch_op.drop_column("service_code")
    op.execute(
        sa.text(
            "DELETE FROM referralservice WHERE code IN ('frailty_team', 'tissue_viability', "
            "'diabetes_team', 'dietetics', 'other')"
        )
    )
    with op.batch_alter_table("referralservice", schema=None) as batch_op:
        batch_op.drop_column("visit_times")
        batch_op.drop_column("decision_target_hours")
