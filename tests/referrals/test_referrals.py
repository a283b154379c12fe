"""Referrals over the JSON API: sent to a service, answered, challenged with a reason, assessed,
decided; versions, scope and the rules on their moments."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from app.models import AuditEvent, Referral
from tests import factories, pages


def _stay(db, ward, actor, now):  # noqa: ANN001, ANN202
    return factories.make_stay(db, actor, ward, None, admitted_at=now - timedelta(days=3), now=now)


def test_lifecycle_over_the_api(db, api, ward, nurse_principal, now, clock):
    stay = _stay(db, ward, nurse_principal, now)
    sent = (now - timedelta(hours=6)).isoformat()
    made = api.post(f"/stays/{stay.id}/referrals", json={"service_code": "social_care", "sent_at": sent})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["status"] == "sent" and body["service_code"] == "social_care" and body["response"] == ""
    url = f"/stays/{stay.id}/referrals/{body['id']}"

    accepted = api.patch(
        url, json={"response": "accepted", "responded_at": (now - timedelta(hours=4)).isoformat(), "version": 1}
    )
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert api.patch(url, json={"assessed_at": now.isoformat(), "version": 1}).status_code == 409  # stale
    assert api.patch(url, json={"assessed_at": now.isoformat()}).status_code == 428  # no version
    assessed = api.patch(url, json={"assessed_at": (now - timedelta(hours=2)).isoformat(), "version": 2})
    assert assessed.json()["status"] == "assessed"
    clock.advance(hours=1)
    decided = api.patch(
        url,
        json={"decided_at": now.isoformat(), "decision": "Package of care, 4 calls a day"},
        headers={"If-Match": '"3"'},
    )
    assert decided.status_code == 200 and decided.json()["status"] == "decided"
    assert decided.headers["etag"] == '"4"'
    listed = api.get(f"/stays/{stay.id}/referrals").json()
    assert [r["status"] for r in listed] == ["decided"]
    events = db.exec(select(AuditEvent).where(AuditEvent.entity_type == "referral")).all()
    assert {e.action for e in events} == {"create", "update"} and len(events) == 4


def test_a_challenge_needs_its_reason(db, api, ward, nurse_principal, now):
    stay = _stay(db, ward, nurse_principal, now)
    made = api.post(
        f"/stays/{stay.id}/referrals",
        json={"service_code": "care_home", "detail": "Brokerage", "sent_at": (now - timedelta(hours=3)).isoformat()},
    ).json()
    url = f"/stays/{stay.id}/referrals/{made['id']}"
    at = (now - timedelta(hours=1)).isoformat()
    refused = api.patch(url, json={"response": "challenged", "responded_at": at, "version": 1})
    assert refused.status_code == 422 and "challenged" in refused.text
    challenged = api.patch(
        url,
        json={
            "response": "challenged",
            "responded_at": at,
            "challenge_reason": "Still meets criteria to reside",
            "version": 1,
        },
    )
    assert challenged.status_code == 200
    assert challenged.json()["status"] == "challenged"
    assert challenged.json()["challenge_reason"] == "Still meets criteria to reside"


def test_rules_on_the_moments(db, api, ward, nurse_principal, now):
    stay = _stay(db, ward, nurse_principal, now)
    path = f"/stays/{stay.id}/referrals"
    assert api.post(path, json={"service_code": "nowhere", "sent_at": now.isoformat()}).status_code == 422
    future = (now + timedelta(hours=1)).isoformat()
    assert api.post(path, json={"service_code": "therapy", "sent_at": future}).status_code == 422
    before_admission = (now - timedelta(days=4)).isoformat()
    assert api.post(path, json={"service_code": "therapy", "sent_at": before_admission}).status_code == 422
    made = api.post(path, json={"service_code": "therapy", "sent_at": (now - timedelta(hours=2)).isoformat()}).json()
    url = f"{path}/{made['id']}"
    early = (now - timedelta(hours=3)).isoformat()
    assert api.patch(url, json={"decided_at": early, "version": 1}).status_code == 422
    assert api.patch(url, json={"response": "maybe", "responded_at": now.isoformat(), "version": 1}).status_code == 422
    assert api.patch(url, json={"response": "accepted", "version": 1}).status_code == 422  # when?
    assert db.get(Referral, made["id"]).version == 1


def test_other_wards_referrals_answer_404(db, api_as, ward, nurse_principal, now):
    stay = _stay(db, ward, nurse_principal, now)
    own = api_as(factories.make_user(db, "nurse", wards=[ward]))
    made = own.post(
        f"/stays/{stay.id}/referrals",
        json={"service_code": "therapy", "sent_at": (now - timedelta(hours=1)).isoformat()},
    ).json()
    other = api_as(factories.make_user(db, "nurse", wards=[factories.make_ward(db)]))
    assert other.get(f"/stays/{stay.id}/referrals").status_code == 404
    assert (
        other.post(
            f"/stays/{stay.id}/referrals", json={"service_code": "therapy", "sent_at": now.isoformat()}
        ).status_code
        == 404
    )
    patch = other.patch(f"/stays/{stay.id}/referrals/{made['id']}", json={"decision": "x", "version": 1})
    assert patch.status_code == 404
    assert db.get(Referral, made["id"]).decision == ""


def test_specialist_visit_times_and_targets_are_reference_data(api):
    services = {s["code"]: s for s in api.get("/reference/referral-services").json()}
    assert services["frailty_team"]["visit_times"] == "Mon-Fri 10:00"
    assert services["hospital_at_home"]["decision_target_hours"] == 4
    assert services["other"]["label"] == "Other service (see detail)"


def test_waiting_past_target_for_alerts(db, ward, nurse_principal, now):
    from app.stays import referrals
    from app.stays.schemas import ReferralCreate, ReferralUpdate

    stay = _stay(db, ward, nurse_principal, now)

    def send(code: str, hours_ago: float) -> Referral:
        data = ReferralCreate(service_code=code, sent_at=now - timedelta(hours=hours_ago))
        return referrals.add_referral(db, actor=nurse_principal, stay=stay, data=data, now=now)

    late = send("hospital_at_home", 5)  # target 4 h: past it
    send("hospital_at_home", 3)  # within its target
    send("social_care", 47)  # 48 h: not yet
    declined = send("therapy", 30)  # 24 h, but declined: not waiting
    referrals.update_referral(
        db, actor=nurse_principal, stay=stay, referral=declined, now=now, expected_version=1,
        data=ReferralUpdate(response="declined", responded_at=now - timedelta(hours=1)),
    )  # fmt: skip
    found = referrals.waiting_past_target(db, now, [ward.id])
    assert [(p.referral_id, p.ward_id, p.target_at) for p in found] == [
        (late.id, ward.id, late.sent_at + timedelta(hours=4))
    ]
    assert referrals.waiting_past_target(db, now, []) == []


def test_the_patient_page_says_when_a_specialist_team_visits_the_ward(
    db, browser_as, nurse, ward, nurse_principal, now
):
    """Specialist teams' set visit times (reference data) are shown where the team's referral is listed."""
    from app.models import ReferralService

    stay = factories.make_stay(
        db, nurse_principal, ward, factories.beds_of(db, ward)[0], admitted_at=now - timedelta(days=2)
    )
    service = db.get(ReferralService, "frailty_team")
    assert service is not None and service.visit_times
    browser = browser_as(nurse)
    page = browser.get(f"/stays/{stay.id}")
    r = browser.post(
        f"/stays/{stay.id}/referrals",
        {
            "csrf_token": pages.csrf_from(page.text),
            "service_code": "frailty_team",
            "sent_date": "2026-03-09",
            "sent_time": "09:00",
        },
    )
    assert r.status_code in (200, 303), r.text[:300]
    assert f"Visits the ward: {service.visit_times}" in browser.get(f"/stays/{stay.id}").text
