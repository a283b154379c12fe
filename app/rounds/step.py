"""One patient's turn at the board: apply every answer through the domain services, at once.

Used by the round stepper and by the patient page, so the rules, the audit trail and the
conflict checks are the same as the API's.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from app.actions.schemas import ActionCreate
from app.actions.service import create_action
from app.audit.versions import check_version
from app.core.clock import LONDON, london_date
from app.core.errors import RuleViolation
from app.core.principal import Principal
from app.escalations.schemas import EscalationCreate
from app.escalations.service import raise_escalation
from app.models import BoardRound, BoardRoundEntry, DailyReview, Stay
from app.reviews.schemas import ReviewRequest
from app.reviews.service import criteria_for, record_review
from app.rounds.forms import PatientStepForm
from app.stays import service as stays

# Service field names -> form field names, so an error sits next to the right control.
FORM_FIELDS = {
    "reason": "edd_reason",
    "owner_role_code": "action_owner_role",
    "description": "action_description",
    "category_code": "escalation_category",
    "help_needed": "escalation_help",
    "criteria": "criteria",
}


def form_field(service_field: str | None) -> str:
    return FORM_FIELDS.get(service_field or "", service_field or "form")


def previous_review(session: Session, stay_id: int, before: date) -> tuple[DailyReview | None, list[str]]:
    review = session.exec(
        select(DailyReview)
        .where(DailyReview.stay_id == stay_id, DailyReview.review_date < before)
        .order_by(col(DailyReview.review_date).desc())
        .limit(1)
    ).first()
    if review is None:
        return None, []
    return review, criteria_for(session, [review.id])[review.id]  # type: ignore[list-item, index]


def _enter(
    session: Session, *, board_round: BoardRound | None, stay: Stay, outcome: str, actor: Principal, now: datetime
) -> None:
    if board_round is None:
        return
    previous = session.exec(
        select(BoardRoundEntry.completed_at)
        .where(BoardRoundEntry.board_round_id == board_round.id, BoardRoundEntry.outcome != "skipped")
        .order_by(col(BoardRoundEntry.completed_at).desc())
        .limit(1)
    ).first()
    since = max(previous or board_round.started_at, board_round.started_at)
    seconds = max(0, int((now - since).total_seconds()))
    entry = session.exec(
        select(BoardRoundEntry).where(
            BoardRoundEntry.board_round_id == board_round.id, BoardRoundEntry.stay_id == stay.id
        )
    ).first()
    if entry is None:
        session.add(
            BoardRoundEntry(
                board_round_id=board_round.id,
                stay_id=stay.id,
                outcome=outcome,
                completed_at=now,
                seconds=seconds,
                actor_id=actor.user_id,
                created_at=now,
                updated_at=now,
            )
        )
    else:
        entry.outcome = outcome
        entry.completed_at = now
        entry.seconds = entry.seconds + seconds if outcome != "skipped" else entry.seconds
        entry.actor_id = actor.user_id
        entry.updated_at = now
    session.flush()


def save_patient(
    session: Session,
    *,
    actor: Principal,
    stay: Stay,
    data: PatientStepForm,
    now: datetime,
    board_round: BoardRound | None = None,
) -> None:
    check_version(session, stay, data.stay_version, lambda: stays.present(stay))
    review_request = ReviewRequest(
        meets_criteria_to_reside=data.meets == "yes",
        criteria=data.criteria if data.meets == "yes" else [],
        delay_reason_code=data.delay_reason_code if data.meets == "no" else None,
        day_status=data.day_status,
        red_day_reason_code=data.red_day_reason_code if data.day_status == "red" else None,
        pathway=data.pathway,
        plan=data.plan,
        version=data.review_version,
    )
    record_review(session, actor=actor, stay=stay, data=review_request, now=now)
    if data.expected_discharge_date is None and stay.expected_discharge_date is not None:
        raise RuleViolation("Enter the expected discharge date", field="expected_discharge_date")
    if data.expected_discharge_date is not None and data.expected_discharge_date != stay.expected_discharge_date:
        stays.set_edd(
            session,
            actor=actor,
            stay=stay,
            new_date=data.expected_discharge_date,
            reason=data.edd_reason,
            expected_version=stay.version,
            now=now,
        )
    changes = {
        key: value
        for key, value in {
            "clinical_criteria_for_discharge": data.clinical_criteria_for_discharge,
            "what_matters": data.what_matters,
            "strengths": data.strengths,
            "choice_information_given_on": data.choice_information_given_on,
            "choice_offered_on": data.choice_offered_on,
            "choice_deadline": data.choice_deadline,
        }.items()
        if getattr(stay, key) != value
    }
    if changes:
        stays.update_stay(session, actor=actor, stay=stay, changes=changes, expected_version=stay.version, now=now)
    if data.action_description:
        if not data.action_owner_role:
            raise RuleViolation("Say who will do it", field="owner_role_code")
        due = None
        if data.action_due is not None:
            due = datetime.combine(london_date(now), data.action_due, tzinfo=LONDON)
        create_action(
            session,
            actor=actor,
            stay=stay,
            now=now,
            data=ActionCreate(
                description=data.action_description,
                owner_role_code=data.action_owner_role,
                due_at=due,
                board_round_id=board_round.id if board_round else None,
            ),
        )
    if data.escalation_help:
        if not data.escalation_category:
            raise RuleViolation("Choose what kind of blocker this is", field="category_code")
        needed_by = (
            datetime.combine(data.escalation_needed_by, datetime.min.time(), tzinfo=LONDON).replace(hour=17)
            if data.escalation_needed_by
            else None
        )
        raise_escalation(
            session,
            actor=actor,
            stay=stay,
            now=now,
            data=EscalationCreate(
                category_code=data.escalation_category, help_needed=data.escalation_help, needed_by=needed_by
            ),
        )
    _enter(session, board_round=board_round, stay=stay, outcome="reviewed", actor=actor, now=now)


def confirm_unchanged(
    session: Session,
    *,
    actor: Principal,
    stay: Stay,
    stay_version: int,
    now: datetime,
    board_round: BoardRound | None = None,
) -> None:
    """One tap for a patient whose answers are the same as at the last review."""
    check_version(session, stay, stay_version, lambda: stays.present(stay))
    last, criteria = previous_review(session, stay.id, london_date(now))  # type: ignore[arg-type]
    if last is None:
        raise RuleViolation("There is no earlier review to confirm: answer the questions", field="meets")
    record_review(
        session,
        actor=actor,
        stay=stay,
        now=now,
        data=ReviewRequest(
            meets_criteria_to_reside=last.meets_criteria_to_reside,
            criteria=criteria,
            delay_reason_code=last.delay_reason_code,
            day_status=last.day_status,
            red_day_reason_code=last.red_day_reason_code,
            pathway=last.pathway,
            plan=last.plan,
        ),
    )
    _enter(session, board_round=board_round, stay=stay, outcome="no_change", actor=actor, now=now)


def skip(session: Session, *, actor: Principal, stay: Stay, board_round: BoardRound, now: datetime) -> None:
    _enter(session, board_round=board_round, stay=stay, outcome="skipped", actor=actor, now=now)


def round_order(session: Session, board_round: BoardRound) -> list[int]:
    """Current stays on the round's ward in bed order (patients without a bed last)."""
    from app.models import Bed

    rows = session.exec(
        select(Stay.id, Bed.sort_order, Bed.label)
        .join(Bed, col(Bed.id) == Stay.bed_id, isouter=True)
        .where(Stay.ward_id == board_round.ward_id, col(Stay.discharged_at).is_(None))
    ).all()
    return [r[0] for r in sorted(rows, key=lambda r: (r[1] is None, r[1] or 0, r[2] or "", r[0]))]


def entries(session: Session, board_round: BoardRound) -> dict[int, BoardRoundEntry]:
    return {
        e.stay_id: e
        for e in session.exec(select(BoardRoundEntry).where(BoardRoundEntry.board_round_id == board_round.id))
    }
