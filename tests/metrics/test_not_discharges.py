"""Deaths and cancelled admissions are not discharges, on every page and return that counts them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.adt.corrections import cancel_admission
from app.core.clock import london_date
from app.metrics import flow, reports, returns
from app.metrics.rules.discharges import discharges_in
from app.metrics.rules.facts import StayFacts
from app.metrics.rules.period import Period
from app.models import Stay
from tests import factories
from tests.metrics.scenario import discharges_of, leave, review


@pytest.fixture
def ward_today(db, now):
    """One ward where, this morning, one patient went home, one died and one admission was
    cancelled by the PAS (A11) after a review had been recorded, so the stay was kept and ended."""
    ward = factories.make_ward(db, beds=3, code="ND")
    actor = factories.principal(db, factories.make_user(db, "flow_coordinator"))
    home, died, cancelled = (
        factories.make_stay(db, actor, ward, bed, admitted_at=now - timedelta(days=2))
        for bed in factories.beds_of(db, ward)
    )
    for stay in (home, died, cancelled):
        review(db, actor, stay, now - timedelta(days=1), meets=False)
    leave(db, actor, home, now - timedelta(hours=2), "19", 0)
    leave(db, actor, died, now - timedelta(hours=1), "79", None)
    assert cancel_admission(db, actor=actor, stay=cancelled, at=now - timedelta(minutes=30), now=now) == "ended"
    db.flush()
    assert db.get(Stay, cancelled.id).discharge_destination_code == "98"
    return ward, home


def test_flow_overview_and_its_patient_list_count_only_the_patient_who_went_home(db, now, ward_today):
    ward, home = ward_today
    overview = flow.flow_overview(db, [ward], now)
    assert (overview.total.discharged, overview.total.discharged_before_midday) == (1, 1)
    listed = flow.flow_patients(
        db, [ward.id], "discharged", now, destination_labels={}, cause_labels={}, family_labels={}
    )
    assert [p.stay_id for p in listed] == [home.id]


def test_metrics_report_counts_the_death_apart_and_drops_the_cancelled_admission(db, now, ward_today):
    ward, home = ward_today
    today = london_date(now)
    report = reports.metrics_report(db, [ward], Period(today, today))
    assert [d.stay_id for d in discharges_of(db, [ward], Period(today, today))] == [home.id]
    assert report.timing.discharges == 1
    assert report.timing.deaths == 1


def test_drd_extract_lists_only_the_discharge(db, now, ward_today):
    ward, home = ward_today
    today = london_date(now)
    assert [s.stay_id for s in returns.load_discharged_stays(db, [ward.id], Period(today, today))] == [home.id]


def test_cancelled_admission_is_neither_discharge_nor_death():
    left = datetime(2026, 3, 3, 9, tzinfo=UTC)
    stays = [
        StayFacts(n, left - timedelta(days=2), left, 1, destination_code=code)
        for n, code in enumerate(("19", "79", "98"), start=1)
    ]
    found, deaths = discharges_in(stays, Period(date(2026, 3, 3), date(2026, 3, 3)), None)
    assert [d.stay_id for d in found] == [1]  # home; 79 is a death; 98 is neither
    assert deaths == 1
