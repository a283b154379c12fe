"""The metrics report for some wards over a period: their stored and live days (app.metrics.stored.ward_days)
and the period's failed discharges and referrals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from app.metrics import queries
from app.metrics.rules.period import Period
from app.metrics.rules.report import Report, build_report
from app.metrics.stored import ward_days
from app.metrics.stored.refresher import RefreshLater
from app.models import Ward
from app.reference import labels


def metrics_report(
    session: Session,
    wards: Sequence[Ward],
    period: Period,
    *,
    now: datetime | None = None,
    use_stored: bool = True,
    refresh_later: RefreshLater | None = None,
) -> Report:
    """The whole report for these wards (the wards in scope, or one of them). `use_stored` False
    works every day out from the facts (the check that stored days add up to the same);
    `refresh_later`: see ward_days.figures (page views pass the background refresher's)."""
    scope = frozenset(w.id for w in wards)
    figures = ward_days.figures(session, scope, period, now=now, use_stored=use_stored, refresh_later=refresh_later)
    failed, referrals = queries.load_events(session, scope, period)
    return build_report(
        ward_names={w.id: w.name for w in wards},
        figures=figures,
        failed=failed,
        referrals=referrals,
        destination_labels=labels(session, "destinations"),
        cause_labels=labels(session, "failed_discharge_reasons"),
    )
