"""A review with several delay reasons counts once, under its primary, in the NCTR snapshot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.reviews.schemas import ReviewRequest
from app.reviews.service import record_review
from tests import factories


def test_nctr_snapshot_counts_the_primary_delay_reason_only(db, api_as, ward, nurse_principal, clock):
    reviewed = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
    clock.at = reviewed + timedelta(days=2)
    stay = factories.make_stay(db, nurse_principal, ward, None, admitted_at=reviewed - timedelta(days=3), now=reviewed)
    data = ReviewRequest(
        meets_criteria_to_reside=False,
        delay_reasons=[{"code": "CAP01", "primary": False}, {"code": "IP03", "primary": True}],
    )
    record_review(db, actor=nurse_principal, stay=stay, data=data, now=reviewed)
    db.flush()
    api = api_as(factories.make_user(db, "flow_coordinator"))
    r = api.get("/metrics/nctr-snapshot", params={"date": "2026-03-11", "ward_id": ward.id})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["nctr"][0]["patients"] == 1
    assert [(x["code"], x["patients"]) for x in body["reasons"]] == [("IP03", 1)]
