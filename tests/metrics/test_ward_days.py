"""Stored ward-days add up to the same report as working every day out from the facts, before and
after every kind of late change (each one must mark the closed days it touches), on both databases."""

from __future__ import annotations

import statistics
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, func, text
from sqlmodel import select

from app.adt.corrections import cancel_admission, cancel_transfer, reopen
from app.core.clock import london_date, utcnow
from app.metrics import reports
from app.metrics.rules.discharges import (
    Discharge,
    DischargeCounts,
    edd_accuracy,
    edd_accuracy_of,
    length_of_stay_of,
    median_of_counts,
)
from app.metrics.rules.period import Period
from app.metrics.stored import ward_days
from app.models import MetricsDay, MetricsStale
from app.stays.service import correct_discharged_stay, transfer, update_stay
from tests import factories
from tests.metrics.scenario import build_march, review, utc

MARCH = Period(date(2026, 3, 23), date(2026, 3, 31))
WIDER = Period(date(2026, 3, 1), date(2026, 4, 10))


@pytest.fixture
def march(db):
    return build_march(db)


def both_ways(db, wards, period=WIDER):
    """(stored, live): the first call builds what is missing, so read a second time too."""
    reports.metrics_report(db, wards, period)
    return reports.metrics_report(db, wards, period), reports.metrics_report(db, wards, period, use_stored=False)


def stored_rows(db) -> int:
    return db.exec(select(func.count()).select_from(MetricsDay)).one()


def marks(db) -> int:
    return db.exec(select(func.count()).select_from(MetricsStale)).one()


def test_stored_days_add_up_to_the_live_report(db, march):
    stored, live = both_ways(db, [march.a, march.b], MARCH)
    assert stored == live
    assert stored_rows(db) == 2 * MARCH.length and marks(db) == 0
    assert stored.timing.discharges == 5 and stored.los.median == 4  # as worked out by hand in test_report


def test_a_longer_period_reuses_the_stored_days_and_builds_the_rest(db, march):
    both_ways(db, [march.a], MARCH)
    assert stored_rows(db) == MARCH.length
    stored, live = both_ways(db, [march.a, march.b, march.c])
    assert stored == live
    assert stored_rows(db) == 3 * WIDER.length


def test_today_is_never_stored(db, march):
    today = london_date(utcnow())
    period = Period(today - timedelta(days=2), today)
    stay = factories.make_stay(db, march.actor, march.a, None, admitted_at=utcnow() - timedelta(days=3), now=utcnow())
    review(db, march.actor, stay, utcnow(), meets=False)
    stored, live = both_ways(db, [march.a], period)
    assert stored == live and stored.census[-1].reviewed == 1
    kept = set(db.exec(select(MetricsDay.day).where(MetricsDay.ward_id == march.a.id)))
    assert max(kept) < today


def late_changes():
    """Each sets up what it needs (in the past), and returns the change: one that rewrites facts of
    days that have closed and been stored."""

    def review_for_an_earlier_day(db, m):
        return lambda: review(db, m.actor, m.stays["S8"], utc(3, 27, 12), meets=True)  # S8: NCTR since the 20th

    def backdated_discharge_correction(db, m):
        s1 = m.stays["S1"]
        return lambda: correct_discharged_stay(
            db, actor=m.actor, stay=s1, changes={"discharged_at": utc(3, 30, 14)}, reason="PAS time was wrong",
            expected_version=s1.version, now=utcnow(),
        )  # fmt: skip

    def discharged_stay_pathway_and_consultant(db, m):
        s5 = m.stays["S5"]
        return lambda: correct_discharged_stay(
            db, actor=m.actor, stay=s5, changes={"pathway": 0, "responsible_consultant": "Dr Chen"},
            reason="Coded wrongly", expected_version=s5.version, now=utcnow(),
        )  # fmt: skip

    def criteria_for_discharge_on_a_long_stay(db, m):
        s8 = m.stays["S8"]  # in hospital since 1 March; the census counts "EDD and CCD" by today's CCD
        factories.make_edd(db, m.actor, s8, date(2026, 4, 2), now=utc(3, 10, 12))
        return lambda: update_stay(
            db, actor=m.actor, stay=s8, changes={"clinical_criteria_for_discharge": "Walking with a frame"},
            expected_version=s8.version, now=utcnow(),
        )  # fmt: skip

    def cancelled_discharge(db, m):
        return lambda: reopen(db, actor=m.actor, stay=m.stays["S5"], now=utcnow())

    def cancelled_transfer(db, m):
        stay = factories.make_stay(db, m.actor, m.a, None, admitted_at=utc(3, 24, 9), now=utc(3, 24, 9))
        factories.make_edd(db, m.actor, stay, date(2026, 3, 27), now=utc(3, 24, 9))
        transfer(db, actor=m.actor, stay=stay, ward_id=m.b.id, bed_id=None, at=utc(3, 26, 10),
                 expected_version=stay.version, now=utc(3, 26, 10))  # fmt: skip
        db.flush()
        return lambda: cancel_transfer(db, actor=m.actor, stay=stay, now=utcnow())

    def cancelled_admission(db, m):
        stay = factories.make_stay(db, m.actor, m.b, None, admitted_at=utc(3, 28, 9), now=utc(3, 28, 9))
        db.flush()
        return lambda: cancel_admission(db, actor=m.actor, stay=stay, at=utcnow(), now=utcnow())

    def round_left_open_and_ended_later(db, m):
        board_round = factories.make_round(db, m.actor, m.b, now=utc(3, 27, 11, 45))
        db.flush()
        return lambda: factories.finish_round(db, m.actor, board_round, now=utc(3, 28, 9))

    def admission_sent_late(db, m):
        return lambda: factories.make_stay(db, m.actor, m.b, None, admitted_at=utc(3, 10, 9), now=utcnow())

    return [
        review_for_an_earlier_day,
        backdated_discharge_correction,
        discharged_stay_pathway_and_consultant,
        criteria_for_discharge_on_a_long_stay,
        cancelled_discharge,
        cancelled_transfer,
        cancelled_admission,
        round_left_open_and_ended_later,
        admission_sent_late,
    ]


@pytest.mark.parametrize("change", late_changes(), ids=lambda f: f.__name__)
def test_a_late_change_rebuilds_the_days_it_touches(db, march, change):
    apply = change(db, march)
    wards = [march.a, march.b]
    before, _ = both_ways(db, wards)
    assert marks(db) == 0
    apply()
    db.flush()
    assert marks(db) > 0
    after, live = both_ways(db, wards)
    assert after == live  # the stored days were rebuilt from the changed facts
    assert after != before  # and the change did change the figures
    assert marks(db) == 0


def test_writes_for_today_leave_no_marks(db, march):
    db.exec(delete(MetricsStale))
    now = utcnow()
    stay = factories.make_stay(db, march.actor, march.a, None, admitted_at=now - timedelta(hours=1), now=now)
    review(db, march.actor, stay, now, meets=False)
    factories.make_edd(db, march.actor, stay, london_date(now) + timedelta(days=2), now=now)
    transfer(db, actor=march.actor, stay=stay, ward_id=march.b.id, bed_id=None, at=now, expected_version=stay.version,
             now=now)  # fmt: skip
    db.flush()
    assert marks(db) == 0


def test_a_review_for_yesterday_marks_the_stay_from_yesterday(db, march):
    db.exec(delete(MetricsStale))
    now = utcnow()
    stay = factories.make_stay(db, march.actor, march.a, None, admitted_at=now - timedelta(days=5), now=now)
    db.flush()
    assert marks(db) == 1  # the admission was backdated: its ward-days from five days ago
    db.exec(delete(MetricsStale))
    review(db, march.actor, stay, now - timedelta(days=1), meets=False)
    db.flush()
    (mark,) = db.exec(select(MetricsStale)).all()
    assert (mark.stay_id, mark.ward_id, mark.to_at) == (stay.id, None, None)
    assert london_date(mark.from_at) == london_date(now - timedelta(days=1))


def test_a_held_lock_means_working_it_out_live(db, engine, march, monkeypatch, backend):
    """Another refresh holding the lock too long: the report is still right, and nothing is stored."""
    if backend == "sqlite":
        pytest.skip("the test harness runs SQLite on one connection, which cannot wait on itself")
    monkeypatch.setattr(ward_days, "LOCK_TIMEOUT_MS", 200)
    live = reports.metrics_report(db, [march.a, march.b], MARCH, use_stored=False)
    with engine.connect() as other:
        other.execute(text("UPDATE metricsrefresh SET refreshed_at = NULL WHERE id = 1"))  # held until rollback
        assert reports.metrics_report(db, [march.a, march.b], MARCH) == live
        assert stored_rows(db) == 0
        other.rollback()
    assert reports.metrics_report(db, [march.a, march.b], MARCH) == live
    assert stored_rows(db) == 2 * MARCH.length


# Counts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("values", [[3], [1, 9], [4, 1, 0, 5, 9], [2, 2, 2, 7], [0, 0, 1, 30, 30, 30], list(range(11))])
def test_median_of_a_histogram_is_the_median_of_its_values(values):
    counts = {v: values.count(v) for v in values}
    assert median_of_counts(counts) == statistics.median(values)
    assert median_of_counts({}) is None


def test_discharge_counts_add_up_in_any_grouping():
    def discharge(i: int, los: int, delay: int | None, pathway: int | None, edd: date | None) -> Discharge:
        day = date(2026, 3, 1 + i)
        return Discharge(
            i, 1, utc(3, 1 + i, 10), day, i % 2 == 0, los, pathway, "19" if i % 3 else None, f"Dr {i % 2}",
            None if delay is None else day - timedelta(days=delay), delay, edd, i % 3,
        )  # fmt: skip

    items = [discharge(i, i * 3 % 11, i % 5 or None, i % 4 if i % 3 else None, date(2026, 3, 4) if i % 2 else None)
             for i in range(12)]  # fmt: skip
    whole = DischargeCounts.of(items)
    parts = DischargeCounts()
    for chunk in (items[:5], items[5:6], items[6:]):
        parts.merge(DischargeCounts.of(chunk))
    assert parts == whole
    assert length_of_stay_of(whole).median == statistics.median(d.length_of_stay for d in items)
    assert edd_accuracy_of(whole.edd) == edd_accuracy(items, lambda d: d.consultant)


def test_whole_months_between_two_days():
    from app.metrics.stored.day_rows import full_months

    assert full_months(date(2026, 3, 1), date(2026, 3, 31)) == [date(2026, 3, 1)]
    assert full_months(date(2026, 3, 2), date(2026, 3, 31)) == []
    assert full_months(date(2026, 1, 15), date(2026, 4, 29)) == [date(2026, 2, 1), date(2026, 3, 1)]
    assert full_months(date(2025, 12, 1), date(2026, 2, 28)) == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]
    assert full_months(date(2026, 3, 5), date(2026, 3, 9)) == []


def test_a_whole_month_is_summed_once_and_again_when_its_days_change(db, march):
    from app.models import MetricsMonthCount

    def rolled() -> list[tuple[int, date]]:
        rows = db.exec(
            select(MetricsMonthCount.ward_id, MetricsMonthCount.month).where(MetricsMonthCount.kind == "days")
        )
        return sorted(rows.all())

    both_ways(db, [march.a, march.b])  # 1 March to 10 April: March is whole, April is not
    assert rolled() == sorted([(march.a.id, date(2026, 3, 1)), (march.b.id, date(2026, 3, 1))])
    s5 = march.stays["S5"]  # discharged from ward A on 31 March, pathway 2
    correct_discharged_stay(db, actor=march.actor, stay=s5, changes={"pathway": 0}, reason="Coded wrongly",
                            expected_version=s5.version, now=utcnow())  # fmt: skip
    db.flush()
    assert ward_days.refresh(db, [], WIDER.date_from, WIDER.date_to)  # only what the mark touches
    assert len(rolled()) == 2  # ward A's March built and summed again in place, never missing
    assert stored_rows(db) == 2 * WIDER.length and marks(db) == 0
    stored, live = both_ways(db, [march.a, march.b])
    assert stored == live
    assert {s.key: s.count for s in stored.pathway_detail}["2"] == 0
