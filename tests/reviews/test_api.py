"""POST /api/v1/stays/{id}/reviews: the first review of the day needs no version; replacing one does."""

from __future__ import annotations

from sqlmodel import select

from app.models import AuditEvent, DailyReview
from tests import factories

FIRST = {"meets_criteria_to_reside": True, "criteria": ["02"], "day_status": "green", "plan": "Mine"}
OTHER = {"meets_criteria_to_reside": False, "delay_reason_code": "CAP01", "plan": "Theirs"}


def test_replacing_todays_review_needs_the_version_seen(db, api, ward, nurse_principal):
    stay = factories.make_stay(db, nurse_principal, ward, None)
    first = api.post(f"/stays/{stay.id}/reviews", json=FIRST)
    assert first.status_code == 201, first.text
    seen = first.json()["version"]

    r = api.post(f"/stays/{stay.id}/reviews", json=OTHER)
    assert r.status_code == 428
    assert r.json()["error"]["code"] == "version_required"
    assert r.json()["error"]["fields"] == [{"field": "version", "message": r.json()["error"]["message"]}]
    db.expire_all()
    assert db.exec(select(DailyReview)).one().plan == "Mine"
    assert not db.exec(select(AuditEvent).where(AuditEvent.action == "replace_review")).all()

    replaced = api.post(f"/stays/{stay.id}/reviews", json=OTHER | {"version": seen})
    assert replaced.status_code == 200 and replaced.json()["plan"] == "Theirs"
    r = api.post(f"/stays/{stay.id}/reviews", json=FIRST | {"version": seen})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "stale_version"
    assert r.json()["error"]["detail"]["current"]["plan"] == "Theirs"
    assert r.json()["error"]["detail"]["current"]["version"] == replaced.json()["version"]
    db.expire_all()
    assert db.exec(select(DailyReview)).one().plan == "Theirs"
