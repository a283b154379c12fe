"""The metric rules on hand-built facts: no database (app.metrics.rules, returns, present, forms)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from app.metrics import forms, returns
from app.metrics.present import charts, tables
from app.metrics.rules.census import census
from app.metrics.rules.discharges import DayDischarges, Discharge, discharge_timing, discharges_in, edd_accuracy
from app.metrics.rules.facts import FailedFacts, Location, ReferralFacts, Review, RoundFacts, StayFacts
from app.metrics.rules.figures import WardTotals
from app.metrics.rules.period import Period, census_instant
from app.metrics.rules.readiness import delay_band, discharge_ready_date
from app.metrics.rules.report import centile, failed_by_cause, referral_times, round_compliance
from app.metrics.rules.rounds import round_counts, round_minutes


def utc(y: int, m: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=UTC)


def reviews(start: date, answers: str) -> tuple[Review, ...]:
    """'NNMN.N': N = no criteria to reside, M = meets, . = no review that day."""
    return tuple(
        Review(start + timedelta(days=i), a == "M", None if a == "M" else "CAP01")
        for i, a in enumerate(answers)
        if a != "."
    )


def changes_only(full: tuple[Review, ...]) -> tuple[Review, ...]:
    """What the loader hands over: the first review and every change of answer."""
    out: list[Review] = []
    for r in full:
        if not out or out[-1].meets != r.meets:
            out.append(r)
    return tuple(out)


D = date(2026, 3, 1)


# The discharge ready date -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ("", None),  # never reviewed
        ("MMM", None),  # always met the criteria
        ("NNN", D),  # one period
        ("MNN", D + timedelta(days=1)),
        ("NNMNN", D + timedelta(days=3)),  # met the criteria again: a new period starts
        ("NNM", None),  # met them again and stayed: no current period
        ("N..N", D),  # days without a review carry the previous answer
        ("NM.N", D + timedelta(days=3)),
    ],
)
def test_discharge_ready_date_is_the_start_of_the_final_period(answers, expected):
    assert discharge_ready_date(reviews(D, answers)) == expected
    assert discharge_ready_date(changes_only(reviews(D, answers))) == expected


def test_reviews_after_the_date_are_ignored():
    history = reviews(D, "NNMN")
    assert discharge_ready_date(history, up_to=D + timedelta(days=1)) == D
    assert discharge_ready_date(history, up_to=D + timedelta(days=2)) is None


@pytest.mark.parametrize(
    ("days", "band"),
    [(0, "0"), (1, "1"), (2, "2-3"), (3, "2-3"), (4, "4-6"), (6, "4-6"), (7, "7-13"), (13, "7-13"),
     (14, "14-20"), (20, "14-20"), (21, "21+"), (400, "21+")],
)  # fmt: skip
def test_delay_bands(days, band):
    assert delay_band(days) == band


def test_negative_delay_is_an_error():
    with pytest.raises(ValueError):
        delay_band(-1)


def test_drd_and_nctr_depend_only_on_the_changes_of_answer():
    """The DRD extract hands over only the reviews where the answer changed: same DRD, same NCTR."""
    rng = random.Random(20260329)
    period = Period(date(2026, 3, 10), date(2026, 4, 10))
    for n in range(200):
        admitted = utc(2026, 3, 1, 9) + timedelta(days=rng.randint(0, 30), hours=rng.randint(0, 23))
        stay_days = rng.randint(0, 25)
        left = admitted + timedelta(days=stay_days, hours=rng.randint(0, 8))
        answers = "".join(rng.choice("NNNM.") for _ in range(stay_days + 1))
        full = reviews(admitted.date(), answers)
        facts = StayFacts(n, admitted, left, 1, destination_code="19", reviews=full)
        reduced = facts._replace(reviews=changes_only(full))
        assert [d.nctr for d in census([facts], period, {1}).get(1, [])] == [
            d.nctr for d in census([reduced], period, {1}).get(1, [])
        ]
        assert discharges_in([facts], period, {1}) == discharges_in([reduced], period, {1})


def test_census_counts_reviews_on_census_days_on_the_ward_of_that_morning():
    period = Period(date(2026, 3, 2), date(2026, 3, 5))
    stay = StayFacts(
        1, utc(2026, 3, 2, 10), None, 2,
        locations=(Location(1, utc(2026, 3, 2, 10), utc(2026, 3, 4, 12)), Location(2, utc(2026, 3, 4, 12))),
        reviews=reviews(date(2026, 3, 2), "NNNN"),
    )  # fmt: skip
    by_ward = census([stay], period, {1, 2})
    # Admitted at 10:00 on the 2nd: not in that morning's census, so its review is not counted.
    assert [d.reviewed for d in by_ward[1]] == [0, 1, 1, 0]
    assert [d.reviewed for d in by_ward[2]] == [0, 0, 0, 1]  # moved at noon on the 4th
    assert [d.patients for d in by_ward[1]] == [0, 1, 1, 0]


# Days, census and the clocks changing ------------------------------------------------------------


def test_london_days_are_23_and_25_hours_long_when_the_clocks_change():
    spring, autumn = Period(date(2026, 3, 29), date(2026, 3, 29)), Period(date(2026, 10, 25), date(2026, 10, 25))
    assert spring.end - spring.start == timedelta(hours=23)
    assert autumn.end - autumn.start == timedelta(hours=25)
    assert census_instant(date(2026, 3, 29)) == utc(2026, 3, 29, 7)  # 08:00 BST
    assert census_instant(date(2026, 10, 25)) == utc(2026, 10, 25, 8)  # 08:00 GMT


def test_census_uses_eight_oclock_london_either_side_of_the_autumn_change():
    period = Period(date(2026, 10, 24), date(2026, 10, 25))
    stays = [
        # Left 24 Oct 07:30 UTC = 08:30 BST: there at that day's census (07:00 UTC).
        StayFacts(1, utc(2026, 10, 20, 9), utc(2026, 10, 24, 7, 30), 1),
        # Arrived 24 Oct 07:30 UTC = 08:30 BST: after that census; there on the 25th.
        StayFacts(2, utc(2026, 10, 24, 7, 30), None, 1),
        # Arrived 25 Oct 07:30 UTC = 07:30 GMT: before that day's census (08:00 UTC).
        StayFacts(3, utc(2026, 10, 25, 7, 30), None, 1),
    ]
    days = census(stays, period, {1})[1]
    assert [d.patients for d in days] == [1, 2]


def test_census_nctr_uses_the_latest_review_before_the_day():
    period = Period(date(2026, 3, 2), date(2026, 3, 6))
    stay = StayFacts(1, utc(2026, 3, 1, 9), None, 1, reviews=reviews(date(2026, 3, 1), "NNM.N"))
    # Latest review before 2nd: 1st (N); 3rd: 2nd (N); 4th: 3rd (M); 5th: 3rd (M); 6th: 5th (N).
    assert [d.nctr for d in census([stay], period, {1})[1]] == [1, 1, 0, 0, 1]


def test_census_long_stays_count_midnights_of_the_whole_stay_across_wards():
    period = Period(date(2026, 3, 7), date(2026, 3, 9))
    stay = StayFacts(
        1, utc(2026, 3, 1, 10), None, 2,
        locations=(Location(1, utc(2026, 3, 1, 10), utc(2026, 3, 8, 12)), Location(2, utc(2026, 3, 8, 12))),
    )  # fmt: skip
    by_ward = census([stay], period, {1, 2})
    assert [d.los[7] for d in by_ward[1]] == [0, 1, 0]  # 7 midnights on the 8th, still on ward 1 at 08:00
    assert [d.los[7] for d in by_ward[2]] == [0, 0, 1]  # moved at noon on the 8th: ward 2 from the 9th
    assert [d.patients for d in by_ward[1]] == [1, 1, 0]
    assert census([stay], period, {2}).keys() == {2}  # ward 1 out of scope: not counted


def test_edd_and_ccd_count_from_the_day_they_are_set():
    period = Period(date(2026, 3, 2), date(2026, 3, 4))
    stay = StayFacts(
        1, utc(2026, 3, 1, 9), None, 1, has_ccd=True, first_edd=date(2026, 3, 9), first_edd_at=utc(2026, 3, 3, 15)
    )
    days = census([stay], period, {1})[1]
    assert [(d.with_edd, d.with_edd_and_ccd) for d in days] == [(0, 0), (1, 1), (1, 1)]


# Discharges ----------------------------------------------------------------------------------------


def test_before_midday_on_both_change_days():
    stays = [
        StayFacts(1, utc(2026, 3, 27, 9), utc(2026, 3, 29, 10, 30), 1),  # 11:30 BST
        StayFacts(2, utc(2026, 3, 27, 9), utc(2026, 3, 29, 11, 30), 1),  # 12:30 BST
        StayFacts(3, utc(2026, 10, 23, 9), utc(2026, 10, 25, 11, 30), 1),  # 11:30 GMT
        StayFacts(4, utc(2026, 10, 23, 9), utc(2026, 10, 25, 12, 30), 1),  # 12:30 GMT
        StayFacts(5, utc(2026, 10, 23, 9), utc(2026, 10, 24, 10, 30), 1),  # 11:30 BST, the day before
    ]
    found, _ = discharges_in(stays, Period(date(2026, 3, 1), date(2026, 10, 31)), None)
    assert {d.stay_id: d.before_midday for d in found} == {1: True, 2: False, 3: True, 4: False, 5: True}
    assert {d.stay_id: d.discharge_date for d in found}[5] == date(2026, 10, 24)


def test_a_discharge_at_ten_past_midnight_bst_is_that_london_day():
    stay = StayFacts(1, utc(2026, 6, 1, 9), utc(2026, 6, 2, 23, 10), 1)  # 00:10 BST on 3 June
    found, _ = discharges_in([stay], Period(date(2026, 6, 3), date(2026, 6, 3)), None)
    assert found[0].discharge_date == date(2026, 6, 3) and found[0].length_of_stay == 2


def test_deaths_are_counted_apart_and_scope_applies():
    stays = [
        StayFacts(1, utc(2026, 3, 1, 9), utc(2026, 3, 3, 9), 1, destination_code="79"),
        StayFacts(2, utc(2026, 3, 1, 9), utc(2026, 3, 3, 9), 2, destination_code="19"),
    ]
    period = Period(date(2026, 3, 3), date(2026, 3, 3))
    assert discharges_in(stays, period, {1}) == ([], 1)
    found, deaths = discharges_in(stays, period, None)
    assert [d.stay_id for d in found] == [2] and deaths == 1


def test_weekend_rate():
    days = [DayDischarges(date(2026, 3, 2) + timedelta(days=i), n, 0) for i, n in enumerate([10, 10, 10, 10, 10, 6, 3])]
    timing = discharge_timing(days)
    assert timing.weekend_daily == 4.5 and timing.weekday_daily == 10
    assert timing.weekend_rate_percent == pytest.approx(45.0)
    assert discharge_timing([]).weekend_rate_percent is None


def test_edd_accuracy_uses_the_first_edd():
    def discharge(stay_id: int, left: date, first: date | None, changes: int) -> Discharge:
        return Discharge(stay_id, 1, utc(2026, 3, 9, 9), left, True, 3, None, "19", "Dr X", None, None, first, changes)

    rows = edd_accuracy(
        [discharge(1, date(2026, 3, 9), date(2026, 3, 10), 2), discharge(2, date(2026, 3, 12), date(2026, 3, 10), 0),
         discharge(3, date(2026, 3, 9), None, 0)],
        lambda d: d.consultant,
    )  # fmt: skip
    (row,) = rows
    assert (row.discharges, row.with_edd, row.met_first_edd) == (3, 2, 1)
    assert row.drift_days == pytest.approx(0.5) and row.changes_per_stay == pytest.approx(1.0)


# Failed discharges, referrals, rounds ----------------------------------------------------------------


def test_failed_discharges_count_each_cause_once_and_only_in_the_period():
    period = Period(date(2026, 3, 1), date(2026, 3, 7))
    failed = [
        FailedFacts(1, 1, 1, utc(2026, 3, 2, 10), (("transport", True), ("medicines", False))),
        FailedFacts(2, 2, 1, utc(2026, 3, 3, 10), (("transport", False), ("transport", False))),
        FailedFacts(3, 3, 1, utc(2026, 3, 8, 0, 30), (("transport", True),)),  # 8 March GMT: outside
        FailedFacts(4, 4, 2, utc(2026, 3, 3, 10), (("transport", True),)),  # ward 2: out of scope
    ]
    total, causes = failed_by_cause(failed, period, {1}, {"transport": "Transport"})
    assert total == 2
    assert [(c.code, c.label, c.count, c.primary) for c in causes] == [
        ("transport", "Transport", 2, 1),
        ("medicines", "medicines", 1, 0),
    ]


def test_referral_times():
    period = Period(date(2026, 3, 10), date(2026, 3, 20))

    def at(day: int, hour: int = 12):  # noqa: ANN202
        return utc(2026, 3, day, hour)

    refs = [
        ReferralFacts(1, 1, 1, "Hub", at(1), at(11), at(2)),  # 240 h, decided in the period (assessed before it)
        ReferralFacts(2, 1, 1, "Hub", at(12, 9), at(12, 13), at(12, 11)),  # 4 h; assessed in 2 h
        ReferralFacts(6, 1, 1, "Hub", at(13, 9), at(13, 15), None),  # 6 h
        ReferralFacts(7, 1, 1, "Hub", at(14, 9), at(14, 17), at(14, 10)),  # 8 h; assessed in 1 h
        ReferralFacts(3, 1, 1, "Hub", at(1), at(5)),  # decided before the period
        ReferralFacts(4, 1, 1, "Hub", at(15), at(25)),  # decided after: waiting at the end
        ReferralFacts(5, 1, 1, "", at(15), None),  # still waiting, no service named
        ReferralFacts(8, 1, 2, "Hub", at(12), at(12, 14)),  # another ward: out of scope
    ]
    rows = {r.service: r for r in referral_times(refs, period, {1})}
    hub = rows["Hub"]
    # Decisions 4, 6, 8, 240 h: median 7, 90th centile (nearest rank: the 4th of 4) 240.
    assert (hub.decided, hub.decision_median_hours, hub.decision_p90_hours) == (4, 7, 240)
    assert (hub.assessed, hub.assessment_median_hours, hub.assessment_p90_hours) == (2, 1.5, 2)
    assert centile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9 and centile([], 90) is None
    assert rows["Hub"].waiting == 1 and rows["Not recorded"].waiting == 1
    assert rows["All services"].waiting == 2


def test_round_compliance_uses_the_london_clock():
    period = Period(date(2026, 3, 28), date(2026, 3, 30))
    rounds = [
        RoundFacts(1, 1, utc(2026, 3, 28, 12, 20), utc(2026, 3, 28, 12, 50)),  # 12:20 GMT: on time
        RoundFacts(2, 1, utc(2026, 3, 30, 11, 40), utc(2026, 3, 30, 12, 0)),  # 12:40 BST: late
        RoundFacts(3, 1, utc(2026, 3, 29, 11, 20), None),  # 12:20 BST: on time, never ended
        RoundFacts(4, 1, utc(2026, 3, 31, 11, 0), utc(2026, 3, 31, 11, 30)),  # the day after the period
        RoundFacts(5, 2, utc(2026, 3, 28, 11, 0), utc(2026, 3, 28, 11, 30)),  # another ward
    ]
    counts = round_counts(rounds, period, {1})
    assert [c.started for c in counts[1]] == [1, 1, 1]
    totals = WardTotals()
    for day in counts[1]:
        totals.rounds.merge(day)
    (row,) = round_compliance({1: totals}, {1: "Ash"})
    assert (row.rounds, row.started_before_deadline, row.median_minutes) == (3, 2, 25)
    assert row.reviewed_percent is None  # no patient-days


def test_round_lengths_are_whole_minutes_half_up():
    def length(seconds: int) -> int:
        start = utc(2026, 3, 2, 12)
        return round_minutes(RoundFacts(1, 1, start, start + timedelta(seconds=seconds)))

    assert [length(s) for s in (0, 29, 30, 89, 90, 2400)] == [0, 0, 1, 1, 2, 40]


# National returns ------------------------------------------------------------------------------------


def test_nctr_snapshot_by_reason_with_warnings():
    day = date(2026, 3, 10)
    p = returns.CensusPatient
    patients = [
        p(1, "RX1", 1, utc(2026, 2, 1, 9), Review(date(2026, 3, 9), False, "CAP01")),  # LOS 37
        p(2, "RX1", 1, utc(2026, 3, 5, 9), Review(date(2026, 3, 9), False, "CAP01")),  # LOS 5
        p(3, "RX1", 1, utc(2026, 3, 1, 9), Review(date(2026, 3, 6), False, None)),  # stale and no reason
        p(4, "RX1", 1, utc(2026, 3, 1, 9), Review(date(2026, 3, 9), True)),
        p(5, "RX1", 1, utc(2026, 3, 9, 20), None),  # arrived last night, not yet reviewed
    ]
    snap = returns.nctr_snapshot(day, patients, {"CAP01": ("Home care not available", "capacity")})
    assert snap.in_hospital == {"RX1": 5}
    assert snap.nctr["RX1"].patients == 3 and snap.nctr["RX1"].los == {7: 2, 14: 1, 21: 1}
    assert [(r.code, r.patients) for r in snap.reasons] == [("CAP01", 2), ("NONE", 1)]
    assert {w.code: w.stay_ids for w in snap.warnings} == {
        "never_reviewed": (5,),
        "not_reviewed_yesterday": (3,),
        "nctr_without_reason": (3,),
    }
    rows = returns.snapshot_rows(snap)
    assert [r[0] for r in rows] == [
        "in_hospital",
        "nctr_total",
        "nctr_reason",
        "nctr_reason",
        "warning",
        "warning",
        "warning",
    ]
    assert all(len(r) == len(returns.SNAPSHOT_HEADER) for r in rows)


def test_drd_record_warnings():
    def stay(
        reviews_: tuple[Review, ...], stored: date | None, admitted: datetime, left: datetime
    ) -> returns.DischargedStay:
        last = max((r.review_date for r in reviews_), default=None)
        return returns.DischargedStay(1, "RX1", "A", None, "M1", admitted, left, "19", 0, stored, reviews_, last)

    same_day = returns.drd_record(
        stay(reviews(date(2026, 3, 5), "N"), date(2026, 3, 5), utc(2026, 3, 5, 1), utc(2026, 3, 5, 15))
    )
    assert (same_day.drd, same_day.days_delayed, same_day.band, same_day.warnings) == (date(2026, 3, 5), 0, "0", ())
    never = returns.drd_record(stay((), None, utc(2026, 3, 1, 9), utc(2026, 3, 5, 15)))
    assert never.warnings == ("no_review",)
    day_case = returns.drd_record(stay((), None, utc(2026, 3, 5, 9), utc(2026, 3, 5, 15)))
    assert day_case.warnings == ()  # no overnight stay: no review expected
    met = returns.drd_record(stay(reviews(date(2026, 3, 1), "NNM"), None, utc(2026, 3, 1, 9), utc(2026, 3, 3, 15)))
    assert met.warnings == ("drd_missing",)
    stale = returns.drd_record(
        stay(reviews(date(2026, 3, 1), "N"), date(2026, 3, 2), utc(2026, 3, 1, 9), utc(2026, 3, 5, 15))
    )
    assert stale.warnings == ("last_review_stale", "drd_differs") and stale.days_delayed == 4


# Tables, CSV, charts, the filter ----------------------------------------------------------------------


def test_table_cells_for_people_and_for_spreadsheets():
    assert tables.show(None, "pct") == "–" and tables.raw(None, "pct") == ""
    assert tables.show(33.333, "pct") == "33.3%" and tables.raw(33.333, "pct") == "33.3"
    assert tables.show(1234, "int") == "1,234" and tables.raw(1234, "int") == "1234"
    assert (
        tables.show(date(2026, 3, 29), "date") == "29 Mar 2026"
        and tables.raw(date(2026, 3, 29), "date") == "2026-03-29"
    )
    assert tables.show(3, "auto") == "3" and tables.show(2.25, "auto") == "2.2"
    assert tables.raw("=HYPERLINK(1)", "text") == "'=HYPERLINK(1)"
    table = tables.Table(
        "t", "T", (tables.Column("A", "text"), tables.Column("B", "pct")), [["x", 50.0]], ["All", None]
    )
    assert tables.to_csv(table) == "A,B\r\nx,50.0\r\nAll,\r\n"


def test_charts_are_accessible_svg_without_inline_styles():
    days = Period(date(2026, 3, 1), date(2026, 3, 10)).days
    svg = charts.stacked_columns(
        days, [charts.Series("Before <midday>", [1] * 10)], chart_id="c1", title="T & T", description="D"
    )
    assert 'role="img"' in svg and 'aria-labelledby="c1-title c1-desc"' in svg
    assert '<title id="c1-title">T &amp; T</title>' in svg and '<desc id="c1-desc">D</desc>' in svg
    assert "Before &lt;midday&gt;" in svg and "style=" not in svg
    line = charts.lines(days, [charts.Series("x", [None, 1, 2] + [3] * 7)], chart_id="c2", title="t", description="d")
    assert line.count("<path d=") >= 1 and "style=" not in line
    empty = charts.bars([], [], chart_id="c3", title="t", description="d")
    assert "Nothing to show" in empty and 'role="img"' in empty


def test_year_long_charts_label_months_not_days():
    days = Period(date(2025, 11, 23), date(2026, 11, 22)).days
    svg = charts.lines(days, [charts.Series("x", [1] * len(days))], chart_id="y", title="t", description="d")
    assert ">1 Dec<" in svg and ">2 Dec<" not in svg and "<circle" not in svg


def test_filter_defaults_and_errors():
    today = date(2026, 3, 10)
    chosen, values, errors = forms.parse_filter({}, [], today)
    assert errors == {} and chosen.period == Period(date(2026, 2, 10), date(2026, 3, 9))
    assert values == {"ward": "", "date_from": "2026-02-10", "date_to": "2026-03-09"}
    _, _, errors = forms.parse_filter({"date_from": "2026-02-30", "date_to": "2026-03-11"}, [], today)
    assert set(errors) == {"date_from", "date_to"}
    _, _, errors = forms.parse_filter({"date_from": "2026-03-09", "date_to": "2026-03-01"}, [], today)
    assert errors == {"date_from": "The start of the period must be on or before its end"}
    _, _, errors = forms.parse_filter({"date_from": "2024-01-01", "date_to": "2026-03-01"}, [], today)
    assert "400 days" in errors["date_from"]
    _, _, errors = forms.parse_filter({"ward": "NOPE"}, [], today)
    assert errors == {"ward": "Select a ward from the list"}
