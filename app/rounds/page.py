"""What the patient screen shows and pre-fills, shared by the round stepper and the patient page."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from app.actions.service import actions_for_stay
from app.audit.service import last_change
from app.core.clock import london_date, midnights_since
from app.models import Bed, DailyReview, EddChange, Escalation, Patient, Referral, Stay
from app.reference import rows
from app.reviews.service import criteria_for
from app.rounds.step import previous_review
from app.wards.queries import age_on


def form_values(session: Session, stay: Stay, today: date) -> dict[str, Any]:
    """Today's answers if already given, else the last review's: 'no change' is one tap."""
    review = session.exec(
        select(DailyReview).where(DailyReview.stay_id == stay.id, DailyReview.review_date == today)
    ).first()
    criteria = criteria_for(session, [review.id])[review.id] if review else []  # type: ignore[index, list-item]
    source = review
    if review is None:
        source, criteria = previous_review(session, stay.id, today)  # type: ignore[arg-type]
    values: dict[str, Any] = {
        "stay_version": stay.version,
        "review_version": review.version if review else "",
        "expected_discharge_date": stay.expected_discharge_date.isoformat() if stay.expected_discharge_date else "",
        "clinical_criteria_for_discharge": stay.clinical_criteria_for_discharge,
        "what_matters": stay.what_matters,
        "strengths": stay.strengths,
        "choice_information_given_on": _iso(stay.choice_information_given_on),
        "choice_offered_on": _iso(stay.choice_offered_on),
        "choice_deadline": _iso(stay.choice_deadline),
        "pathway": "" if stay.pathway is None else str(stay.pathway),
    }
    if source is not None:
        values |= {
            "meets": "yes" if source.meets_criteria_to_reside else "no",
            "criteria": [c for c in criteria if c != "12"],
            "delay_reason_code": source.delay_reason_code or "",
            "day_status": source.day_status,
            "red_day_reason_code": source.red_day_reason_code or "",
            "plan": source.plan,
        }
    return values


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def patient_context(session: Session, stay: Stay, now: datetime) -> dict[str, Any]:
    today = london_date(now)
    patient = session.get(Patient, stay.patient_id)
    reviewed_today = (
        session.exec(
            select(DailyReview.id).where(DailyReview.stay_id == stay.id, DailyReview.review_date == today)
        ).first()
        is not None
    )
    last, _ = previous_review(session, stay.id, today)  # type: ignore[arg-type]
    escalations = list(
        session.exec(select(Escalation).where(Escalation.stay_id == stay.id).order_by(col(Escalation.raised_at).desc()))
    )
    bed = session.get(Bed, stay.bed_id) if stay.bed_id else None
    return {
        "stay": stay,
        "bed_label": bed.label if bed else None,
        "patient": patient,
        "age": age_on(patient.date_of_birth, today) if patient else None,
        "los": midnights_since(stay.admitted_at, today),
        "today": today,
        "reviewed_today": reviewed_today,
        "last_review": last,
        "open_actions": actions_for_stay(session, stay.id, open_only=True),  # type: ignore[arg-type]
        "escalations": escalations,
        "referrals": list(session.exec(select(Referral).where(Referral.stay_id == stay.id).order_by(Referral.id))),
        "edd_history": list(session.exec(select(EddChange).where(EddChange.stay_id == stay.id).order_by(EddChange.id))),
        "ref": {
            name: rows(session, name)
            for name in ("criteria", "delay_reasons", "red_day_reasons", "pathways", "roles", "families")
        },
    }


def conflict_details(session: Session, stay: Stay) -> dict[str, Any]:
    """Who changed the patient since the form was opened, and what they changed."""
    event = last_change(session, "stay", stay.id)
    if event is None:
        return {"who": "Someone", "when": None, "changes": []}
    changes = [(k, (event.before or {}).get(k), v) for k, v in (event.after or {}).items()]
    return {"who": event.actor_name, "when": event.occurred_at, "action": event.action, "changes": changes}
