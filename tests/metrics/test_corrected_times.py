"""A corrected admission or discharge time moves the census, NCTR bed days and the NCTR snapshot
with it (they read the ward history), stored days as well as live, on both databases.

November 2025 is on GMT, so the times below (UTC) are the London clock and the census is 08:00 UTC.
The stay: admitted to A 1 Nov 07:00, moved to B 2 Nov 14:00, reviewed 2 Nov 12:00 (no criteria
to reside), discharged home from B 3 Nov 16:00. At the 08:00 censuses of 31 Oct to 5 Nov it was in
hospital on the 1st, 2nd and 3rd, and NCTR on the 3rd (the latest review before that day).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.core.clock import utcnow
from app.metrics import reports, returns
from app.metrics.rules.period import Period
from app.models import MetricsDay, MetricsStale, StayLocation
from app.stays.service import correct_discharged_stay, transfer
from tests import factories
from tests.metrics.scenario import leave, review

CENSUS_DAYS = Period(date(2025, 10, 31), date(2025, 11, 5))
WIDER = Period(date(2025, 10, 25), date(2025, 11, 12))


def nov(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def setting(db):
    site = factories.make_site(db)
    a, b = (factories.make_ward(db, site=site, beds=2) for _ in range(2))
    actor = factories.principal(db, factories.make_user(db, "flow_coordinator"))
    stay = factories.make_stay(db, actor, a, None, admitted_at=nov(1, 7), now=nov(1, 7))
    review(db, actor, stay, nov(2, 12), meets=False)
    transfer(db, actor=actor, stay=stay, ward_id=b.id, bed_id=None, at=nov(2, 14), expected_version=stay.version,
             now=nov(2, 14))  # fmt: skip
    leave(db, actor, stay, nov(3, 16), "19", 0)
    db.flush()
    return a, b, actor, stay


def correct(db, actor, stay, **changes):
    return correct_discharged_stay(
        db, actor=actor, stay=stay, changes=changes, reason="PAS time was wrong", expected_version=stay.version,
        now=utcnow(),
    )  # fmt: skip


def figures(db, wards, *, use_stored: bool) -> tuple[list[int], list[int], int]:
    """(patients at each census of 31 Oct to 5 Nov, NCTR at each, NCTR bed days over the wider period)."""
    report = reports.metrics_report(db, wards, WIDER, use_stored=use_stored)
    days = [d for d in report.census if d.day in CENSUS_DAYS]
    return [d.patients for d in days], [d.nctr for d in days], report.census_summary.nctr_bed_days


def snapshot_in_hospital(db, wards) -> list[int]:
    """Patients in hospital in the NCTR snapshot of each day 31 Oct to 5 Nov."""
    ids = [w.id for w in wards]
    return [len(returns.load_census_patients(db, ids, day)) for day in CENSUS_DAYS.days]


def test_the_snapshot_after_a_corrected_discharge_no_longer_counts_the_patient(db, setting):
    """The issue's reproduction: discharged 3 Nov 16:00, corrected to 2 Nov 17:00."""
    a, b, actor, stay = setting
    assert len(returns.load_census_patients(db, [a.id, b.id], date(2025, 11, 3))) == 1
    correct(db, actor, stay, discharged_at=nov(2, 17))
    db.flush()
    assert returns.load_census_patients(db, [a.id, b.id], date(2025, 11, 3)) == []
    assert len(returns.load_census_patients(db, [a.id, b.id], date(2025, 11, 2))) == 1  # still in on the 2nd


CORRECTIONS = {
    # name: (changes, patients at the censuses of 31 Oct to 5 Nov, NCTR at each)
    "discharge_earlier": ({"discharged_at": nov(2, 17)}, [0, 1, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0]),
    "discharge_later": ({"discharged_at": nov(5, 9)}, [0, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1]),
    "admission_earlier": ({"admitted_at": nov(31, 7, month=10)}, [1, 1, 1, 1, 0, 0], [0, 0, 0, 1, 0, 0]),
    # The 1st drops out: only the mark for the ward-history row's old start covers it.
    "admission_later": ({"admitted_at": nov(2, 9)}, [0, 0, 0, 1, 0, 0], [0, 0, 0, 1, 0, 0]),
    "both": ({"admitted_at": nov(1, 9), "discharged_at": nov(4, 9)}, [0, 0, 1, 1, 1, 0], [0, 0, 0, 1, 1, 0]),
}


@pytest.mark.parametrize("name", CORRECTIONS)
def test_census_nctr_bed_days_and_snapshot_follow_the_corrected_times(db, setting, name):
    changes, patients, nctr = CORRECTIONS[name]
    a, b, actor, stay = setting
    wards = [a, b]
    reports.metrics_report(db, wards, WIDER)  # the closed days are stored as they were
    assert figures(db, wards, use_stored=True) == ([0, 1, 1, 1, 0, 0], [0, 0, 0, 1, 0, 0], 1)
    assert db.exec(select(func.count()).select_from(MetricsDay)).one() == 2 * WIDER.length

    correct(db, actor, stay, **changes)
    db.flush()

    expected = (patients, nctr, sum(nctr))
    assert figures(db, wards, use_stored=False) == expected  # worked out from the facts
    assert figures(db, wards, use_stored=True) == expected  # the stored days marked and rebuilt
    assert db.exec(select(func.count()).select_from(MetricsStale)).one() == 0
    assert snapshot_in_hospital(db, wards) == patients
    history = db.exec(
        select(StayLocation).where(StayLocation.stay_id == stay.id).order_by(StayLocation.started_at)
    ).all()
    assert [(h.ward_id, h.started_at, h.ended_at) for h in history] == [
        (a.id, stay.admitted_at, nov(2, 14)),
        (b.id, nov(2, 14), stay.discharged_at),
    ]


def test_moving_an_end_of_the_ward_history_marks_the_old_and_the_new_days(db, setting):
    a, b, actor, stay = setting
    db.exec(MetricsStale.__table__.delete())  # type: ignore[attr-defined]
    correct(db, actor, stay, admitted_at=nov(2, 9), discharged_at=nov(5, 9))
    db.flush()
    ward_marks = {
        (m.ward_id, m.from_at, m.to_at) for m in db.exec(select(MetricsStale).where(MetricsStale.ward_id.is_not(None)))
    }
    assert (a.id, nov(1, 7), nov(2, 9)) in ward_marks  # A's first row: from its old start to its new one
    assert (b.id, nov(3, 16), nov(5, 9)) in ward_marks  # B's last row: from its old end to its new one
