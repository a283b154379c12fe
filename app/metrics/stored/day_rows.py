"""The tables of stored metrics days (app.models.metrics): writing a ward's day, deleting ward-days,
summing whole calendar months, and having the database add up the rows a report needs.

Which days to build and when, and keeping them true, is app.metrics.stored.ward_days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, and_, delete, func, insert, literal, or_, union_all
from sqlmodel import Session, col, select

from app.metrics import queries
from app.metrics.rules.census import CensusDay
from app.metrics.rules.discharges import EddSums
from app.metrics.rules.figures import Figures, WardDay, WardTotals
from app.metrics.rules.period import Period
from app.metrics.rules.rounds import RoundCounts
from app.models import MetricsDay, MetricsDayCount, MetricsDayEdd, MetricsMonthCount, MetricsMonthEdd


@dataclass(frozen=True)
class Span:
    """One ward's days from `first` to `last`."""

    ward_id: int
    first: date
    last: date | None  # None: to the end


# Writing a ward's day ------------------------------------------------------------------------

_TABLES = (MetricsDay, MetricsDayCount, MetricsDayEdd)


def _rows_of(ward_id: int, wd: WardDay, built_at: datetime) -> tuple[dict, list[dict], list[dict]]:
    """The rows of the three tables for one ward's day."""
    c, out = wd.census, wd.out
    edd = out.edd_total()
    day_row = {
        "ward_id": ward_id, "day": c.day, "patients": c.patients, "nctr": c.nctr, "los_7": c.los[7],
        "los_14": c.los[14], "los_21": c.los[21], "with_edd": c.with_edd, "with_edd_and_ccd": c.with_edd_and_ccd,
        "reviewed": c.reviewed, "discharges": out.discharges, "before_midday": out.before_midday,
        "deaths": out.deaths, "with_drd": out.with_drd, "bed_days_lost": out.bed_days_lost,
        "edd_with_edd": edd.with_edd, "edd_met_first": edd.met_first_edd, "edd_drift_days": edd.drift_days,
        "edd_changes": edd.edd_changes, "rounds": wd.rounds.started, "rounds_on_time": wd.rounds.on_time,
        "built_at": built_at,
    }  # fmt: skip
    counts = [
        {"ward_id": ward_id, "day": c.day, "kind": kind, "key": str(key), "n": n}
        for kind, counter in _breakdowns(wd)
        for key, n in counter.items()
        if n
    ]
    edds = [
        {"ward_id": ward_id, "day": c.day, "consultant": consultant, **s._asdict()} for consultant, s in out.edd.items()
    ]
    return day_row, counts, edds


def _breakdowns(wd: WardDay) -> tuple[tuple[str, Mapping[Any, int]], ...]:
    out = wd.out
    return (
        ("los", out.los), ("band", out.bands), ("pathway", out.pathways), ("destination", out.destinations),
        ("round_minutes", wd.rounds.minutes),
    )  # fmt: skip


def store(session: Session, built: Mapping[int, Sequence[WardDay]], built_at: datetime) -> None:
    days, counts, edds = [], [], []
    for ward_id, items in built.items():
        for wd in items:
            day_row, count_rows, edd_rows = _rows_of(ward_id, wd, built_at)
            days.append(day_row)
            counts.extend(count_rows)
            edds.extend(edd_rows)
    for model, rows in ((MetricsDay, days), (MetricsDayCount, counts), (MetricsDayEdd, edds)):
        if rows:
            session.execute(insert(model.__table__), rows)  # type: ignore[attr-defined]


def delete_spans(session: Session, spans: Sequence[Span]) -> None:
    """Delete the stored rows of these ward-days from every table, and their months' sums."""
    for model in _TABLES:
        for i in range(0, len(spans), 200):
            session.execute(delete(model).where(or_(*(_span_of(model, model.day, s) for s in spans[i : i + 200]))))
    for model in _MONTH_TABLES:
        for i in range(0, len(spans), 200):
            where = or_(*(_span_of(model, model.month, s, month=True) for s in spans[i : i + 200]))
            session.execute(delete(model).where(where))


# Calendar months rolled up -------------------------------------------------------------------

_MONTH_TABLES = (MetricsMonthCount, MetricsMonthEdd)
_ROLLED = "days"  # the MetricsMonthCount kind that says a ward's month is rolled up


def _month_of(day: date) -> date:
    return day.replace(day=1)


def _next_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def full_months(first: date, last: date) -> list[date]:
    """The calendar months wholly between `first` and `last`, as their first days."""
    month = first if first.day == 1 else _next_month(first)
    out = []
    while _next_month(month) - timedelta(days=1) <= last:
        out.append(month)
        month = _next_month(month)
    return out


def _rolled_up(session: Session, ward_ids: Collection[int], months: Sequence[date]) -> set[tuple[int, date]]:
    if not months:
        return set()
    m = MetricsMonthCount
    return set(
        queries.plain_rows(
            session,
            select(m.ward_id, queries.fast_date(m.month)).where(
                col(m.ward_id).in_(ward_ids), m.kind == _ROLLED, m.month >= months[0], m.month <= months[-1]
            ),
        )
    )


def roll_up(session: Session, ward_ids: Collection[int], first: date, last: date) -> None:
    """Sum the day breakdowns of every full month between `first` and `last` not yet rolled up (its
    days must all be stored)."""
    months = full_months(first, last)
    done = _rolled_up(session, ward_ids, months)
    roll_up_months(session, {(w, m) for m in months for w in ward_ids if (w, m) not in done})


def roll_up_months(session: Session, pairs: Collection[tuple[int, date]]) -> None:
    """Sum the day breakdowns of these (ward, month) pairs, whose days must all be stored."""
    by_month: dict[date, list[int]] = defaultdict(list)
    for ward_id, month in pairs:
        by_month[month].append(ward_id)
    c, e = MetricsDayCount, MetricsDayEdd
    for month, wards in sorted(by_month.items()):
        end = _next_month(month) - timedelta(days=1)
        at = literal(month, type_=Date)
        session.execute(
            insert(MetricsMonthCount).from_select(
                ["ward_id", "month", "kind", "key", "n"],
                select(c.ward_id, at, c.kind, c.key, func.sum(c.n))
                .where(*_in(c, wards, month, end))
                .group_by(c.ward_id, c.kind, c.key),
            )
        )
        session.execute(
            insert(MetricsMonthEdd).from_select(
                ["ward_id", "month", "consultant", *_EDD_SUMS],
                select(e.ward_id, at, e.consultant, *(func.sum(getattr(e, name)) for name in _EDD_SUMS))
                .where(*_in(e, wards, month, end))
                .group_by(e.ward_id, e.consultant),
            )
        )
        session.execute(
            insert(MetricsMonthCount),
            [{"ward_id": w, "month": month, "kind": _ROLLED, "key": "", "n": (end - month).days + 1} for w in wards],
        )


def stored_in(session: Session, spans: Sequence[Span]) -> dict[date, set[int]]:
    """Of these ward-days, the ones stored: {day: wards}."""
    days: dict[date, set[int]] = defaultdict(set)
    d = MetricsDay
    for i in range(0, len(spans), 200):
        where = or_(*(_span_of(d, d.day, s) for s in spans[i : i + 200]))
        for ward_id, day in queries.plain_rows(session, select(d.ward_id, queries.fast_date(d.day)).where(where)):
            days[day].add(ward_id)
    return days


def summed_in(session: Session, spans: Sequence[Span]) -> set[tuple[int, date]]:
    """The (ward, month) sums that these ward-days are part of."""
    m = MetricsMonthCount
    out: set[tuple[int, date]] = set()
    for i in range(0, len(spans), 200):
        where = or_(*(_span_of(m, m.month, s, month=True) for s in spans[i : i + 200]))
        out.update(
            queries.plain_rows(session, select(m.ward_id, queries.fast_date(m.month)).where(m.kind == _ROLLED, where))
        )
    return out


def _span_of(model: Any, column: Any, span: Span, *, month: bool = False) -> Any:
    first, last = span.first, span.last
    if month:
        first, last = _month_of(first), None if last is None else _month_of(last)
    return and_(model.ward_id == span.ward_id, column >= first, *(() if last is None else (column <= last,)))


_EDD_SUMS = ("discharges", "with_edd", "met_first_edd", "drift_days", "edd_changes")


# Reading sums ----------------------------------------------------------------------------------


def _in(model: Any, ward_ids: Collection[int], first: date, last: date) -> tuple[Any, ...]:
    return (col(model.ward_id).in_(ward_ids), model.day >= first, model.day <= last)


def days_kept(session: Session, ward_ids: Collection[int], first: date, last: date) -> dict[int, int]:
    """How many days each ward has stored between `first` and `last`."""
    return dict(
        queries.plain_rows(
            session,
            select(MetricsDay.ward_id, func.count())
            .where(*_in(MetricsDay, ward_ids, first, last))
            .group_by(MetricsDay.ward_id),
        )
    )


def sums(session: Session, ward_ids: Collection[int], period: Period, last: date) -> Figures:
    """The stored days from the start of the period to `last`, summed by the database: per day, per
    ward and in all (the rest of the period zero)."""
    figures = Figures.empty(period, ward_ids)
    where = _in(MetricsDay, ward_ids, period.date_from, last)
    d = MetricsDay
    for day, *sums in queries.plain_rows(
        session,
        select(
            queries.fast_date(d.day), func.sum(d.patients), func.sum(d.nctr), func.sum(d.los_7), func.sum(d.los_14),
            func.sum(d.los_21), func.sum(d.with_edd), func.sum(d.with_edd_and_ccd), func.sum(d.reviewed),
            func.sum(d.discharges), func.sum(d.before_midday),
        ).where(*where).group_by(d.day),
    ):  # fmt: skip
        patients, nctr, los7, los14, los21, edd, edd_ccd, reviewed, n, early = map(int, sums)
        i = period.index(day)
        figures.census[i] = CensusDay(day, patients, nctr, {7: los7, 14: los14, 21: los21}, edd, edd_ccd, reviewed)
        figures.discharges[i], figures.before_midday[i] = n, early
    out = figures.out
    for ward_id, *sums in queries.plain_rows(
        session,
        select(
            d.ward_id, func.sum(d.patients), func.sum(d.reviewed), func.sum(d.with_edd), func.sum(d.with_edd_and_ccd),
            func.sum(d.discharges), func.sum(d.edd_with_edd), func.sum(d.edd_met_first), func.sum(d.edd_drift_days),
            func.sum(d.edd_changes), func.sum(d.before_midday), func.sum(d.deaths), func.sum(d.with_drd),
            func.sum(d.bed_days_lost), func.sum(d.rounds), func.sum(d.rounds_on_time),
        ).where(*where).group_by(d.ward_id),
    ):  # fmt: skip
        patient_days, reviewed, edd, edd_ccd, n, with_edd, met, drift, changes, early, deaths, drd, lost, rounds, on_time = (
            map(int, sums)
        )  # fmt: skip
        figures.wards[ward_id] = WardTotals(
            patient_days, reviewed, edd, edd_ccd, EddSums(n, with_edd, met, drift, changes),
            RoundCounts(rounds, on_time),
        )  # fmt: skip
        out.discharges += n
        out.before_midday += early
        out.deaths += deaths
        out.with_drd += drd
        out.bed_days_lost += lost
    breakdowns = {"los": out.los, "band": out.bands, "pathway": out.pathways, "destination": out.destinations}
    months = full_months(period.date_from, last)
    c, mc = MetricsDayCount, MetricsMonthCount
    counts = _days_and_months(
        select(c.ward_id, c.kind, c.key, c.n), c, select(mc.ward_id, mc.kind, mc.key, mc.n).where(mc.kind != _ROLLED), mc,
        ward_ids, period.date_from, last, months,
    )  # fmt: skip
    for ward_id, kind, key, n in queries.plain_rows(
        session,
        select(counts.c.ward_id, counts.c.kind, counts.c.key, func.sum(counts.c.n)).group_by(
            counts.c.ward_id, counts.c.kind, counts.c.key
        ),
    ):
        if kind == "round_minutes":
            figures.wards[ward_id].rounds.minutes[int(key)] += int(n)
        else:
            breakdowns[kind][int(key) if kind == "los" else key] += int(n)
    e, me = MetricsDayEdd, MetricsMonthEdd
    edds = _days_and_months(
        select(e.consultant, *(getattr(e, n) for n in _EDD_SUMS)), e,
        select(me.consultant, *(getattr(me, n) for n in _EDD_SUMS)), me,
        ward_ids, period.date_from, last, months,
    )  # fmt: skip
    for consultant, *sums in queries.plain_rows(
        session,
        select(edds.c.consultant, *(func.sum(edds.c[n]) for n in _EDD_SUMS)).group_by(edds.c.consultant),
    ):
        out.edd[consultant] = EddSums(*map(int, sums))
    return figures


def _days_and_months(
    from_days: Any, day_model: Any, from_months: Any, month_model: Any,
    ward_ids: Collection[int], first: date, last: date, months: Sequence[date],
) -> Any:  # fmt: skip
    """Rows of the rolled-up months, and of the days outside them, as one subquery to sum."""
    if not months:
        return from_days.where(*_in(day_model, ward_ids, first, last)).subquery()
    months_end = _next_month(months[-1]) - timedelta(days=1)
    parts = [
        from_months.where(
            col(month_model.ward_id).in_(ward_ids), month_model.month >= months[0], month_model.month <= months[-1]
        )
    ]
    # The days either side of the months, as two ranges (one range with an OR would scan every day).
    if first < months[0]:
        parts.append(from_days.where(*_in(day_model, ward_ids, first, months[0] - timedelta(days=1))))
    if months_end < last:
        parts.append(from_days.where(*_in(day_model, ward_ids, months_end + timedelta(days=1), last)))
    return union_all(*parts).subquery()


def complete(session: Session, ward_ids: Collection[int], first: date, last: date) -> bool:
    """Whether every day of these wards from `first` to `last` is stored, and its full months rolled up."""
    counts = days_kept(session, ward_ids, first, last)
    if any(counts.get(w, 0) < (last - first).days + 1 for w in ward_ids):
        return False
    months = full_months(first, last)
    return len(_rolled_up(session, ward_ids, months)) == len(ward_ids) * len(months)


def missing(session: Session, ward_ids: Collection[int], first: date, last: date) -> dict[date, set[int]]:
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


def extent(session: Session) -> tuple[int, date | None, date | None]:
    """(rows, first day, last day) stored."""
    count, first, last = session.exec(
        select(func.count(), queries.fast_date(func.min(MetricsDay.day)), queries.fast_date(func.max(MetricsDay.day)))
    ).one()
    return count, first, last


def delete_all(session: Session) -> None:
    for model in (*_TABLES, *_MONTH_TABLES):
        session.execute(delete(model))
