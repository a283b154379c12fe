"""A hand-built week of hospital life with known answers, written through the real services.

Two wards in scope (A and B) and one outside it (C), London dates 23 to 31 March 2026; the
clocks go forward on Sunday 29 March (01:00 UTC), so from then on 08:00 London is 07:00 UTC and
12:30 London is 11:30 UTC. Times below are UTC. The expected figures are worked out by hand in
tests/metrics/test_report.py; docs/metrics.md explains the rules they follow.

    S1  A  admitted 20 Mar 10:00; reviews 22 meets, 24 NCTR, 25 NCTR, 26 meets again, 27 NCTR,
           28 NCTR; EDD 25 Mar set on admission, changed to 29 Mar on the 26th; CCD recorded;
           discharged Sun 29 Mar 10:30 (11:30 BST, before midday) home, pathway 1.
           DRD 27 Mar (start of the final NCTR period), 2 days' delay, LOS 9.
    S2  A  admitted 25 Mar 09:00, EDD 30 Mar; review 26 meets; moved to B 27 Mar 15:00;
        B  review 28 NCTR; discharged Sun 29 Mar 11:30 (12:30 BST, not before midday) from B,
           pathway 0. DRD 28 Mar, 1 day, LOS 4. Counts for ward B.
    S3  A  admitted Mon 30 Mar 08:30 (after that day's 07:00 census); review 30 NCTR; discharged
           15:00 the same day to a care home, pathway 3. Same-day discharge: delay 0, LOS 0.
    S4  A  patient P4 admitted 23 Mar 10:00, no reviews, discharged 24 Mar 10:00 home (no pathway):
           no DRD, LOS 1.
    S5  A  P4 again (a readmission: a second stay) 26 Mar 10:00, EDD 31 Mar; reviews 30 NCTR,
           31 NCTR; discharged 31 Mar 16:00, pathway 2. DRD 30 Mar, 1 day, LOS 5.
    S6  C  discharged in the period from a ward out of scope: never counted.
    S7  A  admitted 26 Mar 10:00, died 28 Mar 10:00 (destination 79): a death, not a discharge.
    S8  A  admitted 1 Mar, still in hospital; review 20 Mar NCTR and none since (NCTR carries).

Failed discharges: S1 planned 28 Mar (transport, main, and medicines); S8 planned 30 Mar
(transport). Referrals: S1 to the care transfer hub sent 24 Mar, decided 27 Mar; S8 sent 25 Mar,
no decision. Board rounds on A: 26 Mar 12:00-12:40 (before 12:30), 30 Mar 11:45-12:15 UTC
(12:45 BST: not before 12:30).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlmodel import Session

from app.audit import crud
from app.core.principal import Principal
from app.discharges.schemas import FailedDischargeCreate
from app.discharges.service import log_failed_discharge
from app.metrics import queries
from app.metrics.rules.discharges import Discharge, discharges_in
from app.metrics.rules.period import Period
from app.models import Referral, Stay, Ward
from app.stays.service import discharge, transfer
from tests import factories


def utc(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def review(db: Session, actor: Principal, stay: Stay, at: datetime, *, meets: bool) -> None:
    if meets:
        factories.make_review(db, actor, stay, now=at, criteria=["02"])
    else:
        factories.make_review(
            db, actor, stay, meets=False, now=at, day_status="red", red_day_reason_code="waiting_external"
        )


def leave(db: Session, actor: Principal, stay: Stay, at: datetime, destination: str, pathway: int | None) -> Stay:
    return discharge(
        db, actor=actor, stay=stay, discharged_at=at, destination_code=destination, pathway=pathway,
        expected_version=stay.version, now=at,
    )  # fmt: skip


@dataclass
class March:
    a: Ward
    b: Ward
    c: Ward
    actor: Principal
    stays: dict[str, Stay]


def build_march(db: Session) -> March:
    site = factories.make_site(db)
    a, b, c = (factories.make_ward(db, site=site, beds=4, code=code) for code in ("MA", "MB", "MC"))
    a.name, b.name, c.name = "Ash Ward", "Beech Ward", "Cedar Ward"
    actor = factories.principal(db, factories.make_user(db, "flow_coordinator"))

    def admit(ward: Ward, at: datetime, patient=None, **kw) -> Stay:  # noqa: ANN001
        return factories.make_stay(db, actor, ward, None, admitted_at=at, now=at, patient=patient, **kw)

    s8 = admit(a, utc(3, 1, 9))
    review(db, actor, s8, utc(3, 20, 11), meets=False)

    s1 = admit(a, utc(3, 20, 10), responsible_consultant="Dr Adams", clinical_criteria_for_discharge="Off oxygen")
    factories.make_edd(db, actor, s1, date(2026, 3, 25), now=utc(3, 20, 10))
    review(db, actor, s1, utc(3, 22, 12), meets=True)

    p4 = factories.make_patient(db, actor)
    s4 = admit(a, utc(3, 23, 10), patient=p4)
    leave(db, actor, s4, utc(3, 24, 10), "19", None)

    review(db, actor, s1, utc(3, 24, 12), meets=False)
    referral = Referral(
        stay_id=s1.id, service_code="care_transfer_hub", sent_at=utc(3, 24, 12), created_by_id=actor.user_id
    )
    crud.create(db, actor=actor, row=referral, now=utc(3, 24, 13), ward_id=a.id, patient_id=s1.patient_id)
    review(db, actor, s1, utc(3, 25, 12), meets=False)

    s2 = admit(a, utc(3, 25, 9), responsible_consultant="Dr Brown")
    factories.make_edd(db, actor, s2, date(2026, 3, 30), now=utc(3, 25, 9))
    crud.create(
        db, actor=actor, now=utc(3, 25, 13), ward_id=a.id, patient_id=s8.patient_id,
        row=Referral(stay_id=s8.id, service_code="social_care", sent_at=utc(3, 25, 12), created_by_id=actor.user_id),
    )  # fmt: skip

    s5 = admit(a, utc(3, 26, 10), patient=p4, responsible_consultant="Dr Adams")
    factories.make_edd(db, actor, s5, date(2026, 3, 31), now=utc(3, 26, 10))
    s7 = admit(a, utc(3, 26, 10))
    board_round = factories.make_round(db, actor, a, now=utc(3, 26, 12))
    review(db, actor, s1, utc(3, 26, 12, 5), meets=True)
    factories.make_edd(db, actor, s1, date(2026, 3, 29), reason="Waiting for oxygen assessment", now=utc(3, 26, 12, 5))
    review(db, actor, s2, utc(3, 26, 12, 10), meets=True)
    factories.finish_round(db, actor, board_round, now=utc(3, 26, 12, 40))

    review(db, actor, s1, utc(3, 27, 12), meets=False)
    transfer(
        db,
        actor=actor,
        stay=s2,
        ward_id=b.id,
        bed_id=None,
        at=utc(3, 27, 15),
        expected_version=s2.version,
        now=utc(3, 27, 15),
    )
    crud.update(
        db, actor=actor, row=referral, changes={"assessed_at": utc(3, 26, 12), "decided_at": utc(3, 27, 12), "decision": "Accepted for P1"},
        expected_version=referral.version, now=utc(3, 27, 16), ward_id=a.id, patient_id=s1.patient_id, present=dict,
    )  # fmt: skip

    review(db, actor, s1, utc(3, 28, 12), meets=False)
    review(db, actor, s2, utc(3, 28, 12), meets=False)
    leave(db, actor, s7, utc(3, 28, 10), "79", None)
    log_failed_discharge(
        db, actor=actor, stay=s1, now=utc(3, 28, 18),
        data=FailedDischargeCreate(planned_for=utc(3, 28, 11), causes=["transport", "medicines"], primary_cause="transport", avoidable=True),
    )  # fmt: skip

    leave(db, actor, s1, utc(3, 29, 10, 30), "19", 1)
    leave(db, actor, s2, utc(3, 29, 11, 30), "19", 0)

    s3 = admit(a, utc(3, 30, 8, 30))
    board_round = factories.make_round(db, actor, a, now=utc(3, 30, 11, 45))
    review(db, actor, s3, utc(3, 30, 11, 50), meets=False)
    review(db, actor, s5, utc(3, 30, 11, 55), meets=False)
    factories.finish_round(db, actor, board_round, now=utc(3, 30, 12, 15))
    leave(db, actor, s3, utc(3, 30, 15), "54", 3)
    log_failed_discharge(
        db, actor=actor, stay=s8, now=utc(3, 30, 18),
        data=FailedDischargeCreate(planned_for=utc(3, 30, 14), causes=["transport"], primary_cause="transport", avoidable=False),
    )  # fmt: skip

    review(db, actor, s5, utc(3, 31, 12), meets=False)
    leave(db, actor, s5, utc(3, 31, 16), "56", 2)

    s6 = admit(c, utc(3, 27, 10))
    leave(db, actor, s6, utc(3, 29, 9), "19", 0)
    db.flush()
    stays = {"S1": s1, "S2": s2, "S3": s3, "S4": s4, "S5": s5, "S6": s6, "S7": s7, "S8": s8}
    return March(a, b, c, actor, stays)


def discharges_of(db: Session, wards: list[Ward], period: Period) -> list[Discharge]:
    """Each discharge with its worked-out details (the report keeps only their sums)."""
    data = queries.load_metrics_data(db, [w.id for w in wards], period)  # type: ignore[misc]
    return discharges_in(data.stays, period, data.ward_ids)[0]
