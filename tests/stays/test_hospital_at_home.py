"""Hospital at Home and virtual wards: discharge destinations and referral services, counted in the
pathway and destination mix."""

from __future__ import annotations

from datetime import date, timedelta

from app.audit import crud
from app.metrics.reports import metrics_report
from app.metrics.rules.period import Period
from app.models import Referral
from app.stays.service import discharge
from tests import factories


def test_they_are_reference_data(db, api):
    destinations = {d["code"]: d["label"] for d in api.get("/reference/discharge-destinations").json()}
    assert destinations["19H"].endswith("under Hospital at Home (acute care at home)")
    assert destinations["19V"].endswith("on a virtual ward (remote monitoring)")
    order = list(destinations)
    assert order[:3] == ["19", "19H", "19V"]  # beside home, where a picker shows them
    services = {s["code"]: s["label"] for s in api.get("/reference/referral-services").json()}
    assert {"hospital_at_home", "virtual_ward", "home_first", "care_transfer_hub"} <= set(services)
    states = [s["code"] for s in api.get("/reference/bed-states").json()]
    assert states == ["open", "closed", "cleaning", "reserved"]
    assert "infection_control" in [r["code"] for r in api.get("/reference/bed-closure-reasons").json()]


def test_counted_in_the_destination_and_pathway_mix(db, ward, nurse_principal, now):
    beds = factories.beds_of(db, ward)
    plan = (("19H", 1), ("19V", 0), ("19", 0))
    for bed, (destination, pathway) in zip(beds, plan, strict=False):
        stay = factories.make_stay(db, nurse_principal, ward, bed, admitted_at=now - timedelta(days=4))
        referral = Referral(
            stay_id=stay.id, service_code="hospital_at_home", sent_at=now - timedelta(days=2),
            decided_at=now - timedelta(hours=2), decision="Accepted", created_by_id=nurse_principal.user_id,
        )  # fmt: skip
        crud.create(db, actor=nurse_principal, row=referral, now=now, ward_id=ward.id, patient_id=stay.patient_id)
        discharge(
            db, actor=nurse_principal, stay=stay, discharged_at=now - timedelta(hours=1), destination_code=destination,
            pathway=pathway, expected_version=stay.version, now=now,
        )  # fmt: skip
    db.flush()
    report = metrics_report(db, [ward], Period(date(2026, 3, 10), date(2026, 3, 10)), now=now)
    mix = {s.key: (s.label, s.count) for s in report.destinations}
    assert mix["19H"] == ("Usual place of residence, under Hospital at Home (acute care at home)", 1)
    assert mix["19V"][1] == 1 and mix["19"][1] == 1
    pathways = {s.key: s.count for s in report.pathway_detail}
    assert pathways["1"] == 1 and pathways["0"] == 2
    referrals, _all = report.referrals
    assert (referrals.service, referrals.decided) == ("Hospital at Home (acute care at home)", 3)
