"""Each ward's day of metrics figures: kept in the database once the day has closed, live after.

A report over a year for every ward would otherwise re-read a year of stays and reviews on every
request; instead the database adds up the stored rows of its wards and closed days (whole months
from their monthly sums: app.metrics.stored.day_rows), and only the days not yet closed (today) are
worked out from the facts, by the same code that builds the rows.

Stored rows stay true because every write that changes a closed day leaves a mark in its own
transaction (app.metrics.stored.staleness). A refresh, under a one-row lock so two never interleave:

1. reads the marks, works out the ward-days each one touches, builds again those that were stored
   (and their months' sums) and deletes the marks it read, all in one transaction (only those
   marks: one committed meanwhile stays for the next refresh);
2. builds the rows missing for the wards and closed days asked for, from the facts as they are
   now, a month per transaction (on SQLite the lock is the database's write lock, so writers
   wait at most for one month's build), then sums the whole months among them.

Because a mark is committed with the write that needs it, and a refresh reads the marks before
the facts, a row is never built from facts older than a mark it deleted. A day counts as closed
ten minutes after London midnight, so a write still in flight at midnight cannot be missed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from app.core.clock import london_date, utcnow
from app.metrics import queries
from app.metrics.rules.figures import Figures, WardDay, ward_days
from app.metrics.rules.period import Period
from app.metrics.stored import day_rows
from app.metrics.stored.day_rows import Span
from app.models import MetricsRefresh, MetricsStale, Stay, StayLocation

log = logging.getLogger("boardround.metrics")

CLOSED_AFTER = timedelta(minutes=10)  # after London midnight, a day's rows may be stored
CHUNK_DAYS = 31  # days built per transaction
LOCK_TIMEOUT_MS = 3000  # PostgreSQL; SQLite waits for its busy timeout


def last_closed_day(now: datetime) -> date:
    return london_date(now - CLOSED_AFTER) - timedelta(days=1)


# Marks -> ward-days ----------------------------------------------------------------------------


def _spans(session: Session, marks: Sequence[Any]) -> list[Span]:
    """The ward-days each mark touches."""
    spans: list[Span] = []
    stay_marks: dict[int, datetime] = {}
    for _id, stay_id, ward_id, from_at, to_at in marks:
        if ward_id is not None:
            spans.append(Span(ward_id, london_date(from_at), None if to_at is None else london_date(to_at)))
        elif stay_id is not None:
            seen = stay_marks.get(stay_id)
            stay_marks[stay_id] = from_at if seen is None else min(seen, from_at)
    ids = list(stay_marks)
    for i in range(0, len(ids), 1000):
        chunk = ids[i : i + 1000]
        for stay_id, ward_id, started_at, ended_at in queries.plain_rows(
            session,
            select(
                StayLocation.stay_id, StayLocation.ward_id, queries.fast_utc(StayLocation.started_at),
                queries.fast_utc(StayLocation.ended_at),
            ).where(col(StayLocation.stay_id).in_(chunk)),
        ):  # fmt: skip
            first = max(london_date(stay_marks[stay_id]), london_date(started_at))
            last = None if ended_at is None else london_date(ended_at)
            if last is None or last >= first:
                spans.append(Span(ward_id, first, last))
        for stay_id, ward_id, discharged_at in queries.plain_rows(
            session,
            select(Stay.id, Stay.ward_id, queries.fast_utc(Stay.discharged_at)).where(
                col(Stay.id).in_(chunk), col(Stay.discharged_at).is_not(None)
            ),
        ):
            day = london_date(discharged_at)
            if day >= london_date(stay_marks[stay_id]):
                spans.append(Span(ward_id, day, day))
    return spans


def _merged(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or adjacent spans of one ward as one."""
    by_ward: dict[int, list[Span]] = defaultdict(list)
    for span in spans:
        by_ward[span.ward_id].append(span)
    out: list[Span] = []
    for ward_id, items in by_ward.items():
        items.sort(key=lambda s: s.first)
        current = items[0]
        for span in items[1:]:
            if current.last is None or span.first <= current.last + timedelta(days=1):
                last = None if current.last is None or span.last is None else max(current.last, span.last)
                current = Span(ward_id, current.first, last)
            else:
                out.append(current)
                current = span
        out.append(current)
    return out


def _any_marks(session: Session) -> bool:
    return session.exec(select(MetricsStale.id).limit(1)).first() is not None


def _renew_stale(session: Session, now: datetime) -> None:
    """Build again, in this one transaction, the stored rows the marks touch, and delete those marks.

    One transaction, so a report reading at the same moment sees each row either as it was or as it
    is now, never missing. Rows that were never stored stay so (a report asking for them builds them).
    """
    marks = queries.plain_rows(
        session,
        sa_select(
            col(MetricsStale.id), col(MetricsStale.stay_id), col(MetricsStale.ward_id),
            queries.fast_utc(MetricsStale.from_at), queries.fast_utc(MetricsStale.to_at),
        ),
    )  # fmt: skip
    if not marks:
        return
    spans = _merged(_spans(session, marks))
    stored, summed = day_rows.stored_in(session, spans), day_rows.summed_in(session, spans)
    day_rows.delete_spans(session, spans)
    _build(session, stored, now, commit=False)
    day_rows.roll_up_months(session, summed)
    ids = [m[0] for m in marks]
    for i in range(0, len(ids), 1000):
        session.execute(delete(MetricsStale).where(col(MetricsStale.id).in_(ids[i : i + 1000])))


def _build(session: Session, todo: dict[date, set[int]], now: datetime, *, commit: bool) -> None:
    """Work out and store these ward-days ({day: wards}), a month at a time (each its own
    transaction when `commit`). Month sums that include a day built again are summed again."""
    days = sorted(todo)
    while days:
        chunk = [d for d in days if d < days[0] + timedelta(days=CHUNK_DAYS)]
        days = days[len(chunk) :]
        wards = set().union(*(todo[d] for d in chunk))
        period = Period(chunk[0], chunk[-1])
        built = _work_out(session, wards, period)
        spans = [Span(w, period.date_from, period.date_to) for w in wards]
        summed = day_rows.summed_in(session, spans)
        day_rows.delete_spans(session, spans)
        day_rows.store(session, built, now)
        day_rows.roll_up_months(session, summed)
        if commit:
            session.commit()
            _lock(session, now)


# Refresh -------------------------------------------------------------------------------------


def _lock(session: Session, now: datetime) -> None:
    """Take the refresh lock for this transaction (waits for another refresh to finish)."""
    session.commit()  # start afresh: see every write committed so far
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}"))
    session.execute(update(MetricsRefresh).where(col(MetricsRefresh.id) == 1).values(refreshed_at=now))


def refresh(
    session: Session, ward_ids: Collection[int], first: date, last: date, *, now: datetime | None = None
) -> bool:
    """Forget the rows marks made stale, then store the missing rows of these wards from `first` to
    `last` (closed days only). Commits. False, with nothing stored, when another refresh held the
    lock too long: the caller works the figures out live instead."""
    now = now or utcnow()
    last = min(last, last_closed_day(now))
    try:
        _lock(session, now)
        _renew_stale(session, now)
        session.commit()
        if ward_ids and first <= last:
            _lock(session, now)
            _build(session, day_rows.missing(session, ward_ids, first, last), now, commit=True)
            day_rows.roll_up(session, ward_ids, first, last)
            session.commit()
    except OperationalError as exc:
        session.rollback()
        log.warning("metrics refresh gave way (%s): working the figures out from the facts", type(exc.orig).__name__)
        return False
    return True


def forget_all(session: Session, *, now: datetime | None = None) -> None:
    """Drop every stored row (after a hand-made SQL fix to the facts): the next refresh builds
    them again. Commits."""
    _lock(session, now or utcnow())
    day_rows.delete_all(session)
    session.execute(delete(MetricsStale))
    session.commit()


def figures(
    session: Session,
    ward_ids: Collection[int],
    period: Period,
    *,
    now: datetime | None = None,
    use_stored: bool = True,
    refresh_later: Callable[[Collection[int], date, date], None] | None = None,
) -> Figures:
    """The figures of these wards over the period: summed from the stored days where the day has
    closed, worked out from the facts for the rest.

    Days missing or made stale are built first, in this session (the CLI, benchmarks) - or, given
    `refresh_later` (a page view: a GET never writes), asked for from the background refresher
    while this report works every day out from the facts."""
    now = now or utcnow()
    scope = set(ward_ids)
    last_stored = min(period.date_to, last_closed_day(now))
    if not (use_stored and scope and period.date_from <= last_stored):
        return _live(session, scope, period, period.date_from)
    # Nothing stale and nothing missing: no refresh, so no lock and no write for a page view.
    if not day_rows.complete(session, scope, period.date_from, last_stored) or _any_marks(session):
        if refresh_later is not None:
            refresh_later(scope, period.date_from, last_stored)
            return _live(session, scope, period, period.date_from)
        if not refresh(session, scope, period.date_from, last_stored, now=now):
            return _live(session, scope, period, period.date_from)
    out = day_rows.sums(session, scope, period, last_stored)
    if last_stored < period.date_to:
        out.add(_live(session, scope, period, last_stored + timedelta(days=1)))
    return out


def _live(session: Session, scope: set[int], period: Period, first: date) -> Figures:
    """The figures of the days from `first` to the end of the period, worked out from the facts."""
    return Figures.of(period, _work_out(session, scope, Period(first, period.date_to)))


def _work_out(session: Session, wards: Collection[int], period: Period) -> dict[int, list[WardDay]]:
    """These wards' days, worked out from the facts (what is stored, and what is live)."""
    stays, rounds = queries.load_stays(session, wards, period), queries.load_rounds(session, wards, period)
    return ward_days(stays, rounds, period, wards)
