"""Bulk reads for the metrics: a fixed number of queries for any period and any number of wards.

Each loader returns the plain facts of app.metrics.rules.facts, so the rules can be tested on
hand-built data. The queries pick their rows through indexes that do not grow with the years of
history kept (see _stays_touching), and read tens of thousands of rows as plain tuples.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Executable, String, TypeDecorator, func, or_, type_coerce
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.core.codes import REFERRAL_CHALLENGED, REFERRAL_DECLINED
from app.core.principal import Principal
from app.metrics.rules.discharges import NOT_DISCHARGES
from app.metrics.rules.facts import FailedFacts, Location, ReferralFacts, Review, RoundFacts, StayFacts
from app.metrics.rules.period import Period
from app.models import (
    BoardRound,
    DailyReview,
    EddChange,
    FailedDischarge,
    FailedDischargeCause,
    Referral,
    ReferralService,
    Stay,
    StayLocation,
    Ward,
)


class _FastUTC(TypeDecorator):
    """A UTC timestamp read in bulk: SQLite's stored text parsed by datetime.fromisoformat (C), not
    SQLAlchemy's regular expression; PostgreSQL's driver already returns an aware datetime."""

    impl = String
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if isinstance(value, str):
            return datetime.fromisoformat(value + "+00:00")  # much faster than .replace(tzinfo=UTC)
        # PostgreSQL sends the session's zone (often ZoneInfo("Etc/UTC")): one zone makes every later
        # comparison and London conversion cheap.
        return value if value is None or value.tzinfo is UTC else value.astimezone(UTC)


class _FastDate(TypeDecorator):
    """A date read in bulk (SQLite text, or the driver's date)."""

    impl = String
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> date | None:
        return date.fromisoformat(value) if isinstance(value, str) else value


def fast_utc(column: Any) -> Any:
    return type_coerce(column, _FastUTC)


def fast_date(column: Any) -> Any:
    return type_coerce(column, _FastDate)


def plain_rows(session: Session, statement: Executable) -> Sequence[Any]:
    """Plain rows through the session's connection: no ORM row handling for tens of thousands of rows."""
    return session.connection().execute(statement).all()


def counted_discharge() -> ColumnElement[bool]:
    """Left alive from a real spell: not a death, not a cancelled admission (compute.NOT_DISCHARGES)."""
    return or_(
        col(Stay.discharge_destination_code).is_(None), col(Stay.discharge_destination_code).not_in(NOT_DISCHARGES)
    )


def natural_key(text: str) -> list[object]:
    """ "Ward 7" before "Ward 12": numbers in names compare as numbers."""
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    return [int(part) if part.isdecimal() else part.casefold() for part in re.split(r"(\d+)", text)]


def wards_in_scope(session: Session, principal: Principal, *, active_only: bool = False) -> list[Ward]:
    """The wards a person may see, by name: every ward for site-wide roles, else their own."""
    query = select(Ward)
    if active_only:
        query = query.where(col(Ward.is_active).is_(True))
    if not principal.site_wide:
        query = query.where(col(Ward.id).in_(principal.ward_ids or {-1}))
    return sorted(session.exec(query), key=lambda w: (natural_key(w.name), w.code))


@dataclass(frozen=True)
class MetricsData:
    period: Period
    ward_ids: frozenset[int]
    stays: list[StayFacts]
    failed: list[FailedFacts]
    referrals: list[ReferralFacts]
    rounds: list[RoundFacts]


FEW_WARDS = 4  # up to this many wards, find their stays from the wards' own history


def _stays_touching(ward_ids: Collection[int], period: Period) -> SelectOfScalar[int]:
    """Ids of stays on a ward in scope at some time in the period (census or discharge).

    Two ways to the same answer, chosen for speed. For a few wards, read their ward history
    (index on `staylocation.ward_id`). For many, start from the stays in hospital during the period
    (index on `stay.discharged_at`) and check each one's own ward history: reading the history of
    every stay ever on many wards grows with the years of data kept.
    """
    overlaps = (
        StayLocation.started_at < period.end,
        or_(col(StayLocation.ended_at).is_(None), col(StayLocation.ended_at) > period.start),
    )
    if len(ward_ids) <= FEW_WARDS:
        return select(StayLocation.stay_id).where(col(StayLocation.ward_id).in_(ward_ids), *overlaps).distinct()
    on_a_ward_in_scope = (
        select(StayLocation.id)
        .where(
            col(StayLocation.stay_id) == Stay.id,
            # "+ 0" keeps SQLite on the stay_id index here rather than the ward_id one.
            (col(StayLocation.ward_id) + 0).in_(ward_ids),
            *overlaps,
        )
        .correlate(Stay)
        .exists()
    )
    return select(Stay.id).where(
        or_(col(Stay.discharged_at).is_(None), col(Stay.discharged_at) > period.start),
        Stay.admitted_at < period.end,
        on_a_ward_in_scope,
    )


def review_changes(session: Session, stay_ids: Any, up_to: date) -> dict[int, list[Review]]:
    """Each stay's reviews up to a date, reduced to the first and those where the answer changed.

    `stay_ids` is a subquery of stay ids. The database compares each review with the one before
    (a window function), so a long stay costs a row per change, not a row per day.
    """
    previous = func.lag(DailyReview.meets_criteria_to_reside).over(
        partition_by=col(DailyReview.stay_id), order_by=col(DailyReview.review_date)
    )
    history = (
        select(
            col(DailyReview.stay_id).label("stay_id"),
            fast_date(DailyReview.review_date).label("review_date"),
            col(DailyReview.meets_criteria_to_reside).label("meets"),
            previous.label("previous"),
        )
        .where(col(DailyReview.stay_id).in_(stay_ids), DailyReview.review_date <= up_to)
        .subquery()
    )
    changes: dict[int, list[Review]] = defaultdict(list)
    for stay_id, review_date, meets in plain_rows(
        session,
        select(history.c.stay_id, history.c.review_date, history.c.meets).where(
            or_(history.c.previous.is_(None), history.c.previous != history.c.meets)
        ),
    ):
        changes[stay_id].append(Review(review_date, bool(meets)))
    for reviews in changes.values():
        reviews.sort(key=lambda r: r.review_date)
    return changes


def load_metrics_data(session: Session, ward_ids: Collection[int], period: Period) -> MetricsData:
    """Everything the metrics need for these wards and this period, in six queries."""
    scope = frozenset(ward_ids)
    if not scope:
        return MetricsData(period, scope, [], [], [], [])
    return MetricsData(
        period, scope, load_stays(session, scope, period), *load_events(session, scope, period),
        load_rounds(session, scope, period),
    )  # fmt: skip


def load_stays(session: Session, scope: Collection[int], period: Period) -> list[StayFacts]:
    """The stays on a ward in scope at some time in the period, with their facts, in three queries."""
    if not scope:
        return []
    touching = _stays_touching(scope, period)

    # 1. The stays on a ward in scope during the period, each with its whole ward history.
    stay_rows = plain_rows(
        session,
        sa_select(
            col(Stay.id),
            fast_utc(Stay.admitted_at),
            fast_utc(Stay.discharged_at),
            col(Stay.ward_id),
            col(Stay.discharge_destination_code),
            col(Stay.pathway),
            col(Stay.responsible_consultant),
            col(Stay.clinical_criteria_for_discharge) != "",
            col(StayLocation.ward_id),
            fast_utc(StayLocation.started_at),
            fast_utc(StayLocation.ended_at),
        )
        .join(StayLocation, col(StayLocation.stay_id) == Stay.id)
        .where(col(Stay.id).in_(touching))
        .order_by(col(Stay.id), col(StayLocation.started_at), col(StayLocation.id)),
    )

    # 2. Every review up to the end of the period (one row per patient-day: the census counts them).
    history: dict[int, list[Review]] = defaultdict(list)
    for stay_id, review_date, meets in plain_rows(
        session,
        select(DailyReview.stay_id, fast_date(DailyReview.review_date), DailyReview.meets_criteria_to_reside).where(
            col(DailyReview.stay_id).in_(touching), DailyReview.review_date <= period.date_to
        ),
    ):
        history[stay_id].append(Review(review_date, bool(meets)))

    # 3. Every EDD setting (a stay has one or a few): the first one, and how many there were.
    first_edds: dict[int, tuple[date, datetime, int]] = {}
    for stay_id, new_date, changed_at in plain_rows(
        session,
        select(EddChange.stay_id, fast_date(EddChange.new_date), fast_utc(EddChange.changed_at))
        .where(col(EddChange.stay_id).in_(touching))
        .order_by(col(EddChange.stay_id), col(EddChange.changed_at), col(EddChange.id)),
    ):
        seen = first_edds.get(stay_id)
        first_edds[stay_id] = (new_date, changed_at, 1) if seen is None else (seen[0], seen[1], seen[2] + 1)

    stays: list[StayFacts] = []
    locations: list[Location] = []
    current: tuple | None = None

    def close() -> None:
        if current is None:
            return
        stay_id, admitted, discharged, ward_id, dest, pathway, consultant, has_ccd = current
        first = first_edds.get(stay_id)
        stays.append(
            StayFacts(
                id=stay_id,
                admitted_at=admitted,
                discharged_at=discharged,
                ward_id=ward_id,
                destination_code=dest,
                pathway=pathway,
                consultant=consultant or "",
                has_ccd=bool(has_ccd),
                locations=tuple(locations),
                reviews=tuple(sorted(history.get(stay_id, ()))),
                first_edd=first[0] if first else None,
                first_edd_at=first[1] if first else None,
                edd_changes=first[2] - 1 if first else 0,
            )
        )

    for row in stay_rows:
        if current is None or row[0] != current[0]:
            close()
            current = tuple(row[:8])
            locations = []
        locations.append(Location(row[8], row[9], row[10]))
    close()
    return stays


def load_events(
    session: Session, scope: Collection[int], period: Period
) -> tuple[list[FailedFacts], list[ReferralFacts]]:
    """Failed discharges and referrals for the period, in two queries."""
    # 4. Failed discharges planned in the period, with their causes (a failed discharge belongs
    #    to its stay's ward: the current one, or the one the patient left from).
    failed_rows = plain_rows(
        session,
        sa_select(
            col(FailedDischarge.id),
            col(FailedDischarge.stay_id),
            col(Stay.ward_id),
            fast_utc(FailedDischarge.planned_for),
            col(FailedDischargeCause.reason_code),
            col(FailedDischargeCause.is_primary),
        )
        .join(Stay, col(Stay.id) == FailedDischarge.stay_id)
        .outerjoin(FailedDischargeCause, col(FailedDischargeCause.failed_discharge_id) == FailedDischarge.id)
        .where(
            col(FailedDischarge.planned_for) >= period.start,
            col(FailedDischarge.planned_for) < period.end,
            # "+ 0": SQLite would otherwise start from every stay on the wards (ward_id index) rather
            # than from the period's failed discharges (planned_for index).
            (col(Stay.ward_id) + 0).in_(scope),
        )
        .order_by(col(FailedDischarge.id)),
    )
    failed_causes: dict[int, list[tuple[str, bool]]] = defaultdict(list)
    failed_heads: dict[int, tuple] = {}
    for fd_id, stay_id, ward_id, planned_for, code, is_primary in failed_rows:
        failed_heads[fd_id] = (stay_id, ward_id, planned_for)
        if code is not None:
            failed_causes[fd_id].append((code, bool(is_primary)))
    failed = [
        FailedFacts(fd_id, stay_id, ward_id, planned_for, tuple(failed_causes.get(fd_id, ())))
        for fd_id, (stay_id, ward_id, planned_for) in failed_heads.items()
    ]

    # 5. Referrals sent before the period ends and not settled before it starts (docs/metrics.md).
    settled = func.coalesce(col(Referral.decided_at), col(Referral.responded_at))
    referrals = [
        ReferralFacts(
            ref_id,
            stay_id,
            ward_id,
            label or code,
            sent_at,
            decided_at or (responded_at if response in (REFERRAL_DECLINED, REFERRAL_CHALLENGED) else None),
            assessed_at,
        )
        for ref_id, stay_id, ward_id, code, label, sent_at, decided_at, response, responded_at, assessed_at in plain_rows(
            session,
            sa_select(
                col(Referral.id),
                col(Referral.stay_id),
                col(Stay.ward_id),
                col(Referral.service_code),
                col(ReferralService.label),
                fast_utc(Referral.sent_at),
                fast_utc(Referral.decided_at),
                col(Referral.response),
                fast_utc(Referral.responded_at),
                fast_utc(Referral.assessed_at),
            )  # fmt: skip
            .join(Stay, col(Stay.id) == Referral.stay_id)
            .outerjoin(ReferralService, col(ReferralService.code) == Referral.service_code)
            .where(
                (col(Stay.ward_id) + 0).in_(scope),  # from the referrals, not from every stay on the wards
                col(Referral.sent_at) < period.end,
                or_(
                    settled.is_(None),
                    settled >= period.start,
                    col(Referral.assessed_at) >= period.start,
                ),
            )
            .order_by(col(Referral.id)),
        )
    ]

    return failed, referrals


def load_rounds(session: Session, scope: Collection[int], period: Period) -> list[RoundFacts]:
    """Board rounds started in the period on the wards in scope."""
    return [
        RoundFacts(*row)
        for row in plain_rows(
            session,
            select(
                BoardRound.id, BoardRound.ward_id, fast_utc(BoardRound.started_at), fast_utc(BoardRound.ended_at)
            ).where(
                col(BoardRound.ward_id).in_(scope),
                BoardRound.started_at >= period.start,
                BoardRound.started_at < period.end,
            ),
        )
    ]
