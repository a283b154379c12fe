"""Each ward's day of metrics figures: kept in the database once the day has closed, live after.

A report over a year for every ward would otherwise re-read a year of stays and reviews on every
request; instead it adds up wards x days stored rows (app.models.MetricsDay) and works out only
the days not yet closed (today) from the facts.

Stored rows stay true because every write that changes a closed day leaves a mark in its own
transaction (app.metrics.staleness). A refresh, under a one-row lock so two never interleave:

1. reads the marks, works out the ward-days each one touches, deletes those rows and the marks it
   read (only those: a mark committed meanwhile stays for the next refresh);
2. builds the rows missing for the wards and closed days asked for, from the facts as they are
   now, a month per transaction (on SQLite the lock is the database's write lock, so writers
   wait at most for one month's build).

Because a mark is committed with the write that needs it, and a refresh reads the marks before
the facts, a row is never built from facts older than a mark it deleted. A day counts as closed
ten minutes after London midnight, so a write still in flight at midnight cannot be missed.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, text, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from app.core.clock import london_date, utcnow
from app.metrics import queries
from app.metrics.compute import (
    CensusDay,
    DischargeCounts,
    EddSums,
    Period,
    WardDay,
    london_day,
    ward_days,
)
from app.models import MetricsDay, MetricsRefresh, MetricsStale, Stay, StayLocation

CLOSED_AFTER = timedelta(minutes=10)  # after London midnight, a day's rows may be stored
CHUNK_DAYS = 31  # days built per transaction
LOCK_TIMEOUT_MS = 3000  # PostgreSQL; SQLite waits for its busy timeout


def last_closed_day(now: datetime) -> date:
    return london_date(now - CLOSED_AFTER) - timedelta(days=1)


# Encoding ------------------------------------------------------------------------------------


def _detail(out: DischargeCounts) -> str | None:
    if not (out.discharges or out.deaths):
        return None
    return json.dumps(
        {
            "los": {str(k): v for k, v in out.los.items()},
            "bands": dict(out.bands),
            "pathways": dict(out.pathways),
            "destinations": dict(out.destinations),
            "edd": {k: list(v) for k, v in out.edd.items()},
        },
        separators=(",", ":"),
        sort_keys=True,
    )


def to_row(ward_id: int, day: WardDay, built_at: datetime) -> dict[str, Any]:
    c, out = day.census, day.out
    return {
        "ward_id": ward_id,
        "day": c.day,
        "patients": c.patients,
        "nctr": c.nctr,
        "los_7": c.los[7],
        "los_14": c.los[14],
        "los_21": c.los[21],
        "with_edd": c.with_edd,
        "with_edd_and_ccd": c.with_edd_and_ccd,
        "reviewed": c.reviewed,
        "discharges": out.discharges,
        "before_midday": out.before_midday,
        "deaths": out.deaths,
        "with_drd": out.with_drd,
        "bed_days_lost": out.bed_days_lost,
        "detail": _detail(out),
        "built_at": built_at,
    }


_COLUMNS = (
    MetricsDay.ward_id,
    queries.fast_date(MetricsDay.day),
    MetricsDay.patients,
    MetricsDay.nctr,
    MetricsDay.los_7,
    MetricsDay.los_14,
    MetricsDay.los_21,
    MetricsDay.with_edd,
    MetricsDay.with_edd_and_ccd,
    MetricsDay.reviewed,
    MetricsDay.discharges,
    MetricsDay.before_midday,
    MetricsDay.deaths,
    MetricsDay.with_drd,
    MetricsDay.bed_days_lost,
    MetricsDay.detail,
)


def _from_row(row: Sequence[Any]) -> WardDay:
    (_, day, patients, nctr, los7, los14, los21, edd, edd_ccd, reviewed, n, early, deaths, drd, lost, detail) = row
    census = CensusDay(day, patients, nctr, {7: los7, 14: los14, 21: los21}, edd, edd_ccd, reviewed)
    if detail is None:
        return WardDay(census)
    d = json.loads(detail)
    out = DischargeCounts(
        discharges=n,
        before_midday=early,
        deaths=deaths,
        with_drd=drd,
        bed_days_lost=lost,
        los=Counter({int(k): v for k, v in d["los"].items()}),
        bands=Counter(d["bands"]),
        pathways=Counter(d["pathways"]),
        destinations=Counter(d["destinations"]),
        edd={k: EddSums(*v) for k, v in d["edd"].items()},
    )
    return WardDay(census, out)


# Marks -> ward-days ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    ward_id: int
    first: date
    last: date | None  # None: to the end


def _spans(session: Session, marks: Sequence[Any]) -> list[_Span]:
    """The ward-days each mark touches."""
    spans: list[_Span] = []
    stay_marks: dict[int, datetime] = {}
    for _id, stay_id, ward_id, from_at, to_at in marks:
        if ward_id is not None:
            spans.append(_Span(ward_id, london_day(from_at), None if to_at is None else london_day(to_at)))
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
            first = max(london_day(stay_marks[stay_id]), london_day(started_at))
            last = None if ended_at is None else london_day(ended_at)
            if last is None or last >= first:
                spans.append(_Span(ward_id, first, last))
        for stay_id, ward_id, discharged_at in queries.plain_rows(
            session,
            select(Stay.id, Stay.ward_id, queries.fast_utc(Stay.discharged_at)).where(
                col(Stay.id).in_(chunk), col(Stay.discharged_at).is_not(None)
            ),
        ):
            day = london_day(discharged_at)
            if day >= london_day(stay_marks[stay_id]):
                spans.append(_Span(ward_id, day, day))
    return spans


def _merged(spans: Iterable[_Span]) -> list[_Span]:
    """Overlapping or adjacent spans of one ward as one."""
    by_ward: dict[int, list[_Span]] = defaultdict(list)
    for span in spans:
        by_ward[span.ward_id].append(span)
    out: list[_Span] = []
    for ward_id, items in by_ward.items():
        items.sort(key=lambda s: s.first)
        current = items[0]
        for span in items[1:]:
            if current.last is None or span.first <= current.last + timedelta(days=1):
                last = None if current.last is None or span.last is None else max(current.last, span.last)
                current = _Span(ward_id, current.first, last)
            else:
                out.append(current)
                current = span
        out.append(current)
    return out


def _any_marks(session: Session) -> bool:
    return session.exec(select(MetricsStale.id).limit(1)).first() is not None


def _forget_stale(session: Session) -> int:
    """Delete the rows the marks touch, and those marks. Returns how many marks there were."""
    marks = queries.plain_rows(
        session,
        select(
            MetricsStale.id, MetricsStale.stay_id, MetricsStale.ward_id, queries.fast_utc(MetricsStale.from_at),
            queries.fast_utc(MetricsStale.to_at),
        ),
    )  # fmt: skip
    if not marks:
        return 0
    conditions = [
        and_(
            MetricsDay.ward_id == span.ward_id,
            MetricsDay.day >= span.first,
            *(() if span.last is None else (MetricsDay.day <= span.last,)),
        )
        for span in _merged(_spans(session, marks))
    ]
    for i in range(0, len(conditions), 200):
        session.execute(delete(MetricsDay).where(or_(*conditions[i : i + 200])))
    ids = [m[0] for m in marks]
    for i in range(0, len(ids), 1000):
        session.execute(delete(MetricsStale).where(col(MetricsStale.id).in_(ids[i : i + 1000])))
    return len(marks)


# Refresh -------------------------------------------------------------------------------------


def _lock(session: Session, now: datetime) -> None:
    """Take the refresh lock for this transaction (waits for another refresh to finish)."""
    session.commit()  # start afresh: see every write committed so far
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}"))
    session.execute(update(MetricsRefresh).where(col(MetricsRefresh.id) == 1).values(refreshed_at=now))


def _missing(session: Session, ward_ids: Collection[int], first: date, last: date) -> dict[date, set[int]]:
    have: dict[date, set[int]] = defaultdict(set)
    for ward_id, day in queries.plain_rows(
        session,
        select(MetricsDay.ward_id, queries.fast_date(MetricsDay.day)).where(
            col(MetricsDay.ward_id).in_(ward_ids), MetricsDay.day >= first, MetricsDay.day <= last
        ),
    ):
        have[day].add(ward_id)
    wanted = set(ward_ids)
    return {day: wanted - have[day] for day in Period(first, last).days if wanted - have[day]}


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
        _forget_stale(session)
        missing = _missing(session, ward_ids, first, last) if ward_ids and first <= last else {}
        days = sorted(missing)
        while days:
            chunk = [d for d in days if d < days[0] + timedelta(days=CHUNK_DAYS)]
            days = days[len(chunk) :]
            wards = set().union(*(missing[d] for d in chunk))
            period = Period(chunk[0], chunk[-1])
            built = ward_days(queries.load_stays(session, wards, period), period, wards)
            session.execute(
                delete(MetricsDay).where(
                    col(MetricsDay.ward_id).in_(wards), MetricsDay.day >= period.date_from,
                    MetricsDay.day <= period.date_to,
                )
            )  # fmt: skip
            rows = [to_row(ward_id, wd, now) for ward_id, items in built.items() for wd in items]
            session.execute(insert(MetricsDay.__table__), rows)  # type: ignore[attr-defined]
            session.commit()
            if days:
                _lock(session, now)
        session.commit()
    except OperationalError:
        session.rollback()
        return False
    return True


def forget_all(session: Session, *, now: datetime | None = None) -> None:
    """Drop every stored row (after a hand-made SQL fix to the facts): the next refresh builds
    them again. Commits."""
    _lock(session, now or utcnow())
    _forget_stale(session)
    session.execute(delete(MetricsDay))
    session.commit()


def kept_days(session: Session) -> tuple[int, date | None, date | None]:
    """(rows, first day, last day) stored."""
    count, first, last = session.exec(
        select(func.count(), queries.fast_date(func.min(MetricsDay.day)), queries.fast_date(func.max(MetricsDay.day)))
    ).one()
    return count, first, last


def stored(session: Session, ward_ids: Collection[int], first: date, last: date) -> dict[int, dict[date, WardDay]]:
    out: dict[int, dict[date, WardDay]] = defaultdict(dict)
    for row in queries.plain_rows(
        session,
        select(*_COLUMNS).where(col(MetricsDay.ward_id).in_(ward_ids), MetricsDay.day >= first, MetricsDay.day <= last),
    ):
        out[row[0]][row[1]] = _from_row(row)
    return out


def figures(
    session: Session, ward_ids: Collection[int], period: Period, *, now: datetime | None = None, use_stored: bool = True
) -> dict[int, list[WardDay]]:
    """Every ward in `ward_ids`, every day of the period: stored rows where the day has closed (built
    first if missing), worked out from the facts for the rest."""
    now = now or utcnow()
    scope = set(ward_ids)
    kept: dict[int, dict[date, WardDay]] = {}
    last_stored = min(period.date_to, last_closed_day(now))
    if use_stored and scope and period.date_from <= last_stored:
        kept = stored(session, scope, period.date_from, last_stored)
        complete = sum(map(len, kept.values())) == len(scope) * ((last_stored - period.date_from).days + 1)
        # Nothing stale and nothing missing: no refresh, so no lock and no write for a page view.
        if not complete or _any_marks(session):
            fresh = refresh(session, scope, period.date_from, last_stored, now=now)
            kept = stored(session, scope, period.date_from, last_stored) if fresh else {}
    rest: Period | None = None
    live: dict[int, list[WardDay]] = {}
    not_kept = [d for d in period.days if any(d not in kept.get(w, ()) for w in scope)]
    if not_kept:
        rest = Period(not_kept[0], not_kept[-1])
        live = ward_days(queries.load_stays(session, scope, rest), rest, scope)
    return {
        ward_id: [
            live[ward_id][rest.index(d)] if rest is not None and d in rest else kept[ward_id][d] for d in period.days
        ]
        for ward_id in scope
    }
