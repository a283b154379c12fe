"""Logging through the service, and the read models: scope, filters, counts, query budget."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from app.discharges import queries
from app.discharges.queries import Filters
from app.models import AuditEvent, FailedDischargeCause
from app.reference import labels
from tests import factories
from tests.discharges.conftest import log


def test_log_with_several_causes_and_one_primary(db, stays, nurse_principal, now):
    fd = log(
        db,
        nurse_principal,
        stays[0],
        planned_for=now - timedelta(hours=2),
        causes=("transport", "medicines", "documentation"),
        primary="medicines",
    )
    causes = {c.reason_code: c.is_primary for c in db.exec(select(FailedDischargeCause))}
    assert causes == {"documentation": False, "medicines": True, "transport": False}
    event = db.exec(select(AuditEvent).where(AuditEvent.entity_type == "faileddischarge")).one()
    assert event.actor_name == "Nina Nurse" and event.action == "create"
    assert event.after["primary_cause"] == "medicines" and event.entity_id == str(fd.id)
    listing = queries.failed_discharges(db, nurse_principal, Filters(), now=now)
    assert listing.rows[0].causes == ["medicines", "documentation", "transport"]  # primary first
    assert listing.rows[0].primary_cause == "medicines"


def test_scope_and_filters(db, stays, other_stay, nurse_principal, other_principal, now):
    a = log(db, nurse_principal, stays[0], planned_for=now - timedelta(days=1), causes=("transport",), avoidable=True)
    b = log(
        db,
        nurse_principal,
        stays[1],
        planned_for=now - timedelta(hours=1),
        causes=("medicines", "transport"),
        owner="pharmacist",
        due=now - timedelta(minutes=5),
    )
    c = log(db, other_principal, other_stay, planned_for=now - timedelta(hours=3), causes=("care_home",))

    def ids(principal, **kw):  # noqa: ANN001, ANN202
        return [r.id for r in queries.failed_discharges(db, principal, Filters(**kw), now=now).rows]

    assert ids(nurse_principal) == [b.id, a.id]  # newest planned first; the other ward's left out
    assert ids(other_principal) == [c.id]
    flow = factories.principal(db, factories.make_user(db, "flow_coordinator"))
    assert ids(flow) == [b.id, c.id, a.id]
    assert ids(flow, ward_id=other_stay.ward_id) == [c.id]
    assert ids(nurse_principal, ward_id=other_stay.ward_id) == []  # a filter never widens scope
    assert ids(nurse_principal, cause="transport") == [b.id, a.id]
    assert ids(nurse_principal, cause="medicines") == [b.id]
    assert ids(nurse_principal, avoidable=True) == [a.id]
    assert ids(nurse_principal, avoidable=False) == [b.id]
    assert ids(nurse_principal, open_only=True) == [b.id]
    row = queries.failed_discharges(db, nurse_principal, Filters(), now=now).rows[0]
    assert row.overdue and row.follow_up_open
    assert not queries.failed_discharges(db, nurse_principal, Filters(), now=now - timedelta(hours=1)).rows[0].overdue


def test_dates_are_london_days(db, stays, nurse_principal):
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST).
    late = log(db, nurse_principal, stays[0], planned_for=datetime(2026, 6, 30, 23, 30, tzinfo=UTC))
    early = log(db, nurse_principal, stays[1], planned_for=datetime(2026, 6, 30, 22, 30, tzinfo=UTC))
    july_first = Filters(date_from=date(2026, 7, 1), date_to=date(2026, 7, 1))
    rows = queries.failed_discharges(db, nurse_principal, july_first, now=factories.NOW).rows
    assert [r.id for r in rows] == [late.id]
    june_30 = Filters(date_from=date(2026, 6, 30), date_to=date(2026, 6, 30))
    assert [r.id for r in queries.failed_discharges(db, nurse_principal, june_30, now=factories.NOW).rows] == [early.id]


def test_cause_summary_counts_every_mention_and_the_main_ones(
    db, stays, other_stay, nurse_principal, other_principal, now
):
    log(
        db,
        nurse_principal,
        stays[0],
        planned_for=now - timedelta(hours=1),
        causes=("transport", "medicines"),
        primary="medicines",
        avoidable=True,
    )
    log(db, nurse_principal, stays[1], planned_for=now - timedelta(hours=2), causes=("transport",))
    log(db, nurse_principal, stays[1], planned_for=now - timedelta(hours=3), causes=("medicines", "transport"))
    log(db, other_principal, other_stay, planned_for=now - timedelta(hours=1), causes=("care_home",))
    summary = queries.cause_summary(db, nurse_principal, Filters(), labels(db, "failed_discharge_reasons"))
    counts = {c.code: (c.count, c.primary) for c in summary.counts}
    assert counts == {"transport": (3, 1), "medicines": (2, 2)}
    assert summary.failed_discharges == 3 and summary.avoidable == 1
    medicines = next(c for c in summary.counts if c.code == "medicines")
    assert medicines.label == "Medicines to take home not ready"


def test_list_and_summary_cost_a_fixed_number_of_queries(db, ward, nurse_principal, now, count_queries):
    beds = factories.beds_of(db, ward)

    def add(n: int) -> None:
        for i in range(n):
            stay = factories.make_stay(db, nurse_principal, ward, None, admitted_at=now - timedelta(days=3))
            log(
                db,
                nurse_principal,
                stay,
                planned_for=now - timedelta(hours=i + 1),
                causes=("transport", "medicines"),
                owner="nurse",
                due=now,
            )
        db.flush()  # pending writes would otherwise be counted

    assert beds  # beds exist but the builder stays have none: the bed join is an outer join
    reason_labels = labels(db, "failed_discharge_reasons")
    add(2)
    with count_queries() as few:
        assert len(queries.failed_discharges(db, nurse_principal, Filters(cause="transport"), now=now).rows) == 2
        queries.cause_summary(db, nurse_principal, Filters(), reason_labels)
    add(10)
    with count_queries() as many:
        assert len(queries.failed_discharges(db, nurse_principal, Filters(cause="transport"), now=now).rows) == 12
        queries.cause_summary(db, nurse_principal, Filters(), reason_labels)
    assert len(few) == len(many) == 4


def test_current_stays_for_the_patient_picker(db, stays, other_stay, nurse_principal, ward):
    options = queries.current_stays(db, nurse_principal)
    assert [o.stay_id for o in options] == [stays[0].id, stays[1].id]
    assert options[0].text == f"{ward.name} – B01 – HOME0, Grace"
    assert queries.current_stays(db, nurse_principal, ward_id=other_stay.ward_id) == []
