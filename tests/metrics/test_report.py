"""Every metric on the hand-built March week (tests/metrics/scenario.py), from the database.

Runs on SQLite and PostgreSQL. The expected values are worked out by hand from the scenario's
timeline; the comments say how.
"""

from __future__ import annotations

from datetime import date

import pytest

from app.metrics import queries, reports
from app.metrics.present.tables import metric_tables
from app.metrics.rules.period import Period
from tests.metrics.scenario import build_march, discharges_of

MARCH = Period(date(2026, 3, 23), date(2026, 3, 31))


@pytest.fixture
def march(db):
    return build_march(db)


@pytest.fixture
def report(db, march):
    return reports.metrics_report(db, [march.a, march.b], MARCH)


def test_discharges_per_day_and_before_midday_on_the_day_the_clocks_go_forward(report):
    by_day = {d.day: (d.discharges, d.before_midday) for d in report.by_day}
    assert by_day[date(2026, 3, 24)] == (1, 1)  # S4 at 10:00 GMT
    # S1 left at 11:30 BST (10:30 UTC): before midday. S2 at 12:30 BST is 11:30 UTC: not before.
    assert by_day[date(2026, 3, 29)] == (2, 1)
    assert by_day[date(2026, 3, 30)] == (1, 0)  # S3 at 16:00 BST
    assert by_day[date(2026, 3, 31)] == (1, 0)  # S5 (the readmission) at 17:00 BST
    assert by_day[date(2026, 3, 28)] == (0, 0)  # S7 died: not a discharge; S6 left ward C (out of scope)
    t = report.timing
    assert (t.discharges, t.before_midday, t.deaths) == (5, 2, 1)
    assert t.before_midday_percent == pytest.approx(40.0)
    # 23 March 2026 is a Monday: 7 weekdays, 2 weekend days; both Sunday discharges are weekend ones.
    assert (t.weekday_days, t.weekday_discharges, t.weekend_days, t.weekend_discharges) == (7, 3, 2, 2)
    assert t.weekend_rate_percent == pytest.approx(100 * (2 / 2) / (3 / 7))


def test_transfer_attributes_the_discharge_to_the_ward_left_from(db, march):
    only_a = reports.metrics_report(db, [march.a], MARCH)
    only_b = reports.metrics_report(db, [march.b], MARCH)
    from_b = discharges_of(db, [march.b], MARCH)
    assert [d.stay_id for d in from_b] == [march.stays["S2"].id]
    assert march.stays["S2"].id not in {d.stay_id for d in discharges_of(db, [march.a], MARCH)}
    assert only_a.timing.discharges == 4 and only_b.timing.discharges == 1
    # LOS is the whole stay (admitted to A on the 25th, left B on the 29th): 4 midnights.
    assert from_b[0].length_of_stay == 4


def test_discharge_ready_date_rule_and_delay_bands(db, report, march):
    delays = {d.stay_id: (d.drd, d.delay_days, d.band) for d in discharges_of(db, [march.a, march.b], MARCH)}
    s = march.stays
    # Met criteria again on the 26th, so the final NCTR period starts on the 27th.
    assert delays[s["S1"].id] == (date(2026, 3, 27), 2, "2-3")
    assert delays[s["S2"].id] == (date(2026, 3, 28), 1, "1")
    assert delays[s["S3"].id] == (date(2026, 3, 30), 0, "0")  # same-day discharge
    assert delays[s["S4"].id] == (None, None, None)  # never reviewed
    assert delays[s["S5"].id] == (date(2026, 3, 30), 1, "1")
    d = report.delays
    assert (d.discharges, d.with_drd, d.without_drd) == (5, 4, 1)
    assert d.bands == {"0": 1, "1": 2, "2-3": 1, "4-6": 0, "7-13": 0, "14-20": 0, "21+": 0}
    assert d.same_day_percent == pytest.approx(25.0)
    assert d.bed_days_lost == 4
    assert d.mean_delay == pytest.approx(1.0) and d.mean_delay_of_delayed == pytest.approx(4 / 3)


def test_the_stored_discharge_ready_date_agrees(db, march):
    for name, expected in (("S1", date(2026, 3, 27)), ("S2", date(2026, 3, 28)), ("S5", date(2026, 3, 30))):
        db.refresh(march.stays[name])
        assert march.stays[name].discharge_ready_date == expected


def test_readmission_is_two_stays_with_their_own_length_of_stay(db, report, march):
    los = {d.stay_id: d.length_of_stay for d in discharges_of(db, [march.a, march.b], MARCH)}
    assert los[march.stays["S4"].id] == 1 and los[march.stays["S5"].id] == 5
    assert march.stays["S4"].patient_id == march.stays["S5"].patient_id
    assert report.los.discharges == 5
    assert report.los.mean == pytest.approx((1 + 9 + 4 + 0 + 5) / 5) and report.los.median == 4
    assert report.los.over == {7: 1, 14: 0, 21: 0}


def test_census_at_eight_nctr_and_long_stays(report):
    census = {d.day: d for d in report.census}
    # Patients at 08:00 London (07:00 UTC from the 29th); worked out day by day in the scenario.
    assert [census[d].patients for d in MARCH.days] == [2, 3, 2, 3, 5, 5, 4, 2, 2]
    assert [census[d].nctr for d in MARCH.days] == [1, 1, 2, 2, 1, 2, 3, 1, 2]
    assert [census[d].los[7] for d in MARCH.days] == [1, 1, 1, 1, 2, 2, 2, 1, 1]
    assert [census[d].los[14] for d in MARCH.days] == [1] * 9
    assert [census[d].los[21] for d in MARCH.days] == [1] * 9
    assert report.census_summary.nctr_bed_days == 15
    assert report.census_summary.patient_days == 28


def test_census_per_ward_follows_the_transfer(db, march):
    a = {d.day: d.patients for d in reports.metrics_report(db, [march.a], MARCH).census}
    b = {d.day: d.patients for d in reports.metrics_report(db, [march.b], MARCH).census}
    assert a[date(2026, 3, 27)] == 5 and b[date(2026, 3, 27)] == 0  # S2 moved at 15:00
    assert a[date(2026, 3, 28)] == 4 and b[date(2026, 3, 28)] == 1
    assert b[date(2026, 3, 29)] == 1  # still there at 07:00 UTC (08:00 BST), left at 11:30 UTC


def test_pathways_and_destinations(report):
    assert [(s.key, s.count) for s in report.pathways] == [("0-1", 2), ("2-3", 2), ("none", 1)]
    assert {s.key: s.count for s in report.destinations} == {"19": 3, "54": 1, "56": 1}


def test_failed_discharges_by_cause(report):
    assert report.failed_total == 2
    assert [(c.code, c.count, c.primary) for c in report.failed_causes] == [
        ("transport", 2, 2),
        ("medicines", 1, 0),
    ]


def test_referral_to_decision(report):
    rows = {r.service: r for r in report.referrals}
    hub = rows["Care transfer hub (integrated discharge team)"]
    assert (hub.decided, hub.decision_median_hours, hub.decision_p90_hours) == (1, 72, 72)
    assert (hub.assessed, hub.assessment_median_hours) == (1, 48)
    social = rows["Adult social care assessment"]
    assert social.decided == 0 and social.waiting == 1
    assert rows["All services"].decided == 1 and rows["All services"].waiting == 1


def test_edd_accuracy_by_ward_and_consultant(report):
    wards = {a.group: a for a in report.edd_by_ward}
    ash = wards["Ash Ward"]
    # S1: first EDD 25 Mar, left 29 Mar (+4, changed once); S5: EDD 31 Mar, left 31 Mar (0, met).
    assert (ash.discharges, ash.with_edd, ash.met_first_edd) == (4, 2, 1)
    assert ash.drift_days == pytest.approx(2.0) and ash.changes_per_stay == pytest.approx(0.5)
    beech = wards["Beech Ward"]
    assert (beech.with_edd, beech.met_first_edd, beech.drift_days) == (1, 1, -1)  # S2: EDD 30, left 29
    consultants = {a.group: a for a in report.edd_by_consultant}
    assert consultants["Dr Adams"].with_edd == 2 and consultants["Dr Adams"].met_percent == pytest.approx(50.0)
    assert consultants["Not recorded"].discharges == 2 and consultants["Not recorded"].with_edd == 0


def test_board_round_compliance(report):
    rows = {c.ward: c for c in report.compliance}
    ash = rows["Ash Ward"]
    # 26 census patient-days on A; reviewed on the day: S1 x5, S2 on the 26th, S5 x2 (S3's review on the
    # 30th is after that morning's census, so it is neither counted nor expected).
    assert (ash.patient_days, ash.reviewed) == (26, 8)
    assert (ash.with_edd, ash.with_edd_and_ccd) == (14, 7)
    # The round on 30 March started at 12:45 BST (11:45 UTC): not before 12:30.
    assert (ash.rounds, ash.started_before_deadline, ash.median_minutes) == (2, 1, 35)
    beech = rows["Beech Ward"]
    assert (beech.patient_days, beech.reviewed, beech.rounds) == (2, 1, 0)
    total = report.compliance_total
    assert (total.patient_days, total.reviewed) == (28, 9)


def test_every_table_is_consistent_with_the_report(report):
    tables = metric_tables(report)
    assert tables["discharges-by-day"].footer[2:4] == [5, 2]
    assert tables["drd-delays"].rows[0][:2] == ["0", 1]
    assert tables["nctr-by-day"].footer[1:3] == [28, 15]
    assert len(tables["long-stays-by-day"].rows) == 9


def test_out_of_scope_ward_changes_nothing(db, march, report):
    with_c = reports.metrics_report(db, [march.a, march.b, march.c], MARCH)
    assert with_c.timing.discharges == report.timing.discharges + 1  # S6
    assert reports.metrics_report(db, [march.c], MARCH).timing.discharges == 1


def test_load_costs_a_fixed_number_of_queries(db, march, count_queries):
    with count_queries() as one_ward:
        queries.load_metrics_data(db, [march.a.id], MARCH)
    with count_queries() as three_wards:
        queries.load_metrics_data(db, [march.a.id, march.b.id, march.c.id], Period(date(2026, 1, 1), date(2026, 3, 31)))
    assert len(one_ward) == len(three_wards) == 6


def test_both_ways_of_finding_the_stays_agree(db, march, report, monkeypatch):
    """A few wards are read from their ward history, many from the stays in hospital: same answers."""
    monkeypatch.setattr(queries, "FEW_WARDS", 0)
    assert reports.metrics_report(db, [march.a, march.b], MARCH) == report
