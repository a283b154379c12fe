"""What is holding a patient's discharge right now, for the red/green rule (app.reviews.red_green):
an open action past its due time, a referral still waiting for its decision, an open escalation."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, or_, select

from app.core.clock import london_date
from app.models import Action, Escalation, Referral
from app.reviews.red_green import REFERRAL_DELAY_CODE, Holding, action_delay_code, escalation_delay_code


def holding_discharge(session: Session, stay_id: int, now: datetime) -> list[Holding]:
    """As they stood at `now`. Escalations first (the team already named the blocker), then
    overdue actions, then referrals."""
    found: list[Holding] = []
    for esc in session.exec(
        select(Escalation)
        .where(
            Escalation.stay_id == stay_id,
            col(Escalation.raised_at) <= now,
            or_(col(Escalation.resolved_at).is_(None), col(Escalation.resolved_at) > now),
        )
        .order_by(col(Escalation.raised_at))
    ):
        found.append(Holding("escalation", escalation_delay_code(esc.category_code), "open escalation"))
    for action in session.exec(
        select(Action)
        .where(
            Action.stay_id == stay_id,
            col(Action.created_at) <= now,
            or_(col(Action.done_at).is_(None), col(Action.done_at) > now),
            col(Action.due_at).is_not(None),
            col(Action.due_at) < now,
        )
        .order_by(col(Action.due_at))
    ):
        found.append(Holding("action", action_delay_code(action.owner_role_code), "overdue action"))
    for referral in session.exec(
        select(Referral)
        .where(
            Referral.stay_id == stay_id,
            col(Referral.created_at) <= now,
            or_(col(Referral.decision_on).is_(None), col(Referral.decision_on) > london_date(now)),
        )
        .order_by(col(Referral.id))
    ):
        found.append(Holding("referral", REFERRAL_DELAY_CODE, f"referral to {referral.to_service} awaiting decision"))
    return found
