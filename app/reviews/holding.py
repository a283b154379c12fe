"""What is holding a patient's discharge right now, for the red/green rule (app.reviews.red_green):
an open action or discharge milestone past its due time, a referral still waiting for its
decision, an open escalation."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, or_, select

from app.core import codes
from app.milestones.service import overdue_milestones
from app.models import Action, Escalation, Referral
from app.reviews.red_green import REFERRAL_DELAY_CODE, Holding, action_delay_code, escalation_delay_code


def holding_discharge(session: Session, stay_id: int, now: datetime) -> list[Holding]:
    """As they stood at `now` (milestones: as they stand). Escalations first (the team already
    named the blocker), then overdue actions, overdue milestones, then referrals."""
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
    for milestone in overdue_milestones(session, stay_id, now):
        found.append(Holding("milestone", action_delay_code(milestone.owner_role_code), "overdue discharge milestone"))
    for _referral in session.exec(
        select(Referral)
        .where(
            Referral.stay_id == stay_id,
            col(Referral.sent_at) <= now,
            or_(col(Referral.decided_at).is_(None), col(Referral.decided_at) > now),
            # Declined or challenged by then: the service is no longer deciding.
            or_(
                col(Referral.response).not_in((codes.REFERRAL_DECLINED, codes.REFERRAL_CHALLENGED)),
                col(Referral.responded_at) > now,
            ),
        )
        .order_by(col(Referral.id))
    ):
        found.append(Holding("referral", REFERRAL_DELAY_CODE, "referral awaiting decision"))
    return found
