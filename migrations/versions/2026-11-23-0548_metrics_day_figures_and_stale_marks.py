"""Metrics figures per ward and closed day, the marks of days a late change made stale, a refresh lock

`metricsday` keeps each ward's closed London day as counts (the 08:00 census, the discharges),
`metricsdaycount` the discharges' breakdowns (length of stay, delay band, pathway, destination) and
`metricsdayedd` their EDD accuracy per consultant, and `metricsmonthcount`/`metricsmonthedd` those
two summed per calendar month, so a report over a year sums rows in SQL instead of re-reading a
year of stays; `metricsstale` records the days a write touched after they closed; `metricsrefresh` is one
row that each refresh locks (app.metrics.ward_days). The rows are derived: dropping them loses
nothing, they are built again on the next report.

Revision ID: 2e2b6c96a7bd
Revises: c68197e17ef9
Create Date: 2026-11-23 05:48:44.969666
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "2e2b6c96a7bd"
down_revision: str | Sequence[str] | None = "c68197e17ef9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metricsrefresh",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "metricsstale",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stay_id", sa.Integer(), nullable=True),
        sa.Column("ward_id", sa.Integer(), nullable=True),
        sa.Column("from_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("to_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("marked_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "metricsday",
        sa.Column("ward_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("patients", sa.Integer(), nullable=False),
        sa.Column("nctr", sa.Integer(), nullable=False),
        sa.Column("los_7", sa.Integer(), nullable=False),
        sa.Column("los_14", sa.Integer(), nullable=False),
        sa.Column("los_21", sa.Integer(), nullable=False),
        sa.Column("with_edd", sa.Integer(), nullable=False),
        sa.Column("with_edd_and_ccd", sa.Integer(), nullable=False),
        sa.Column("reviewed", sa.Integer(), nullable=False),
        sa.Column("discharges", sa.Integer(), nullable=False),
        sa.Column("before_midday", sa.Integer(), nullable=False),
        sa.Column("deaths", sa.Integer(), nullable=False),
        sa.Column("with_drd", sa.Integer(), nullable=False),
        sa.Column("bed_days_lost", sa.Integer(), nullable=False),
        sa.Column("edd_with_edd", sa.Integer(), nullable=False),
        sa.Column("edd_met_first", sa.Integer(), nullable=False),
        sa.Column("edd_drift_days", sa.Integer(), nullable=False),
        sa.Column("edd_changes", sa.Integer(), nullable=False),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("rounds_on_time", sa.Integer(), nullable=False),
        sa.Column("built_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ward_id"],
            ["ward.id"],
        ),
        sa.PrimaryKeyConstraint("ward_id", "day"),
    )
    op.create_table(
        "metricsdaycount",
        sa.Column("ward_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=20), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["ward_id"], ["ward.id"]),
        sa.PrimaryKeyConstraint("ward_id", "day", "kind", "key"),
    )
    op.create_index("ix_metricsdaycount_sums", "metricsdaycount", ["ward_id", "day", "kind", "key", "n"])
    op.create_table(
        "metricsdayedd",
        sa.Column("ward_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("consultant", sa.String(length=200), nullable=False),
        sa.Column("discharges", sa.Integer(), nullable=False),
        sa.Column("with_edd", sa.Integer(), nullable=False),
        sa.Column("met_first_edd", sa.Integer(), nullable=False),
        sa.Column("drift_days", sa.Integer(), nullable=False),
        sa.Column("edd_changes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["ward_id"], ["ward.id"]),
        sa.PrimaryKeyConstraint("ward_id", "day", "consultant"),
    )
    op.create_table(
        "metricsmonthcount",
        sa.Column("ward_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=20), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["ward_id"], ["ward.id"]),
        sa.PrimaryKeyConstraint("ward_id", "month", "kind", "key"),
    )
    op.create_index("ix_metricsmonthcount_sums", "metricsmonthcount", ["ward_id", "month", "kind", "key", "n"])
    op.create_table(
        "metricsmonthedd",
        sa.Column("ward_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("consultant", sa.String(length=200), nullable=False),
        sa.Column("discharges", sa.Integer(), nullable=False),
        sa.Column("with_edd", sa.Integer(), nullable=False),
        sa.Column("met_first_edd", sa.Integer(), nullable=False),
        sa.Column("drift_days", sa.Integer(), nullable=False),
        sa.Column("edd_changes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["ward_id"], ["ward.id"]),
        sa.PrimaryKeyConstraint("ward_id", "month", "consultant"),
    )
    op.execute("INSERT INTO metricsrefresh (id) VALUES (1)")


def downgrade() -> None:
    op.drop_table("metricsmonthedd")
    op.drop_table("metricsmonthcount")
    op.drop_table("metricsdayedd")
    op.drop_table("metricsdaycount")
    op.drop_table("metricsday")
    op.drop_table("metricsstale")
    op.drop_table("metricsrefresh")
