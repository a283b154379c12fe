"""Daily criteria-to-reside review: one per stay per London date; re-recording replaces it, given the
version of today's review the client saw (so nobody's answers are overwritten unseen)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, delete, select

from app.audit import service as audit
from app.audit.versions import check_version
from app.auth.permissions import Perm, allows
from app.core.clock import london_date
from app.core.errors import Conflict, Forbidden, PreconditionRequired, RuleViolation
from app.core.principal import Principal
from app.milestones import service as milestones
from app.models import (
    Criterion,
    DailyReview,
    DelayReason,
    Pathway,
    RedDayReason,
    ReviewCriterion,
    Stay,
)
from app.reviews.schemas import ReviewPublic, ReviewRequest

# Recorded when the team says "meets criteria" without naming one (Data Dictionary code 12).
CRITERION_NOT_RECORDED = "12"
# How far back a missed day's review may be filled in (a long weekend, a week of leave).
LATE_ENTRY_DAYS = 7


def criteria_for(session: Session, review_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {rid: [] for rid in review_ids}
    if review_ids:
        rows = session.exec(
            select(ReviewCriterion)
            .where(col(ReviewCriterion.review_id).in_(review_ids))
            .order_by(ReviewCriterion.criterion_code)
        )
        for row in rows:
            out[row.review_id].append(row.criterion_code)
    return out


def present(review: DailyReview, criteria: list[str]) -> dict:
    return ReviewPublic.model_validate(review).model_copy(update={"criteria": criteria}).model_dump(mode="json")


def _validate_codes(session: Session, data: ReviewRequest) -> list[str]:
    criteria = sorted(set(data.criteria))
    if data.meets_criteria_to_reside and not criteria:
        criteria = [CRITERION_NOT_RECORDED]
    if criteria:
        known = set(session.exec(select(Criterion.code).where(col(Criterion.code).in_(criteria))))
        unknown = [c for c in criteria if c not in known]
        if unknown:
            raise RuleViolation(f"Unknown criteria: {', '.join(unknown)}", field="criteria")
    if not data.meets_criteria_to_reside:
        if not data.delay_reason_code:
            raise RuleViolation("Say why the patient is still here (delay reason)", field="delay_reason_code")
        reason = session.get(DelayReason, data.delay_reason_code)
        if reason is None or not reason.active:
            raise RuleViolation("Unknown delay reason", field="delay_reason_code")
    if data.day_status == "red":
        if not data.red_day_reason_code:
            raise RuleViolation("Say why today is a red day", field="red_day_reason_code")
        if session.get(RedDayReason, data.red_day_reason_code) is None:
            raise RuleViolation("Unknown red-day reason", field="red_day_reason_code")
    if data.pathway is not None and session.get(Pathway, data.pathway) is None:
        raise RuleViolation("Unknown pathway", field="pathway")
    return criteria


def discharge_ready_date(session: Session, stay_id: int, as_of: date) -> date | None:
    """Start of the current run of 'no criteria to reside' reviews (national DRD rule).

    Days without a review carry the previous state. If the latest review meets criteria, there
    is no current NCTR period, so no DRD.
    """
    rows = session.exec(
        select(col(DailyReview.review_date), col(DailyReview.meets_criteria_to_reside))
        .where(DailyReview.stay_id == stay_id, DailyReview.review_date <= as_of)
        .order_by(col(DailyReview.review_date).desc())
    ).all()
    drd = None
    for review_date, meets in rows:
        if meets:
            break
        drd = review_date
    return drd


def _review_day(actor: Principal, stay: Stay, data: ReviewRequest, today: date) -> date:
    """The day the review is for: today, or an earlier day as a late entry, which only senior roles
    record, with a reason, up to LATE_ENTRY_DAYS back and not before the admission."""
    day = data.review_date or today
    if day > today:
        raise RuleViolation("A review cannot be recorded for a day still to come", field="review_date")
    if day == today:
        if data.late_entry_reason:
            raise RuleViolation("A late-entry reason is only given for an earlier day", field="late_entry_reason")
        return day
    if not allows(actor.role, Perm.LATE_REVIEW):
        raise Forbidden("Only senior roles record a review for an earlier day (a late entry)")
    if day < london_date(stay.admitted_at):
        raise RuleViolation("That day is before the patient was admitted", field="review_date")
    if (today - day).days > LATE_ENTRY_DAYS:
        raise RuleViolation(f"A late entry can be at most {LATE_ENTRY_DAYS} days back", field="review_date")
    if not data.late_entry_reason:
        raise RuleViolation("Say why this review is recorded late", field="late_entry_reason")
    return day


def record_review(
    session: Session,
    *,
    actor: Principal,
    stay: Stay,
    data: ReviewRequest,
    now: datetime,
) -> tuple[DailyReview, list[str], bool]:
    """Record today's review, or a late entry for an earlier day (`data.review_date`). Returns
    (review, criteria, created). Recording today's again replaces it; an earlier day that already
    has a review is refused (409): a late entry fills a missed day, it does not rewrite one."""
    if stay.discharged_at is not None:
        raise Conflict("This stay has ended: it cannot be reviewed", field="stay")
    today = london_date(now)
    day = _review_day(actor, stay, data, today)
    criteria = _validate_codes(session, data)
    review = session.exec(
        select(DailyReview).where(DailyReview.stay_id == stay.id, DailyReview.review_date == day)
    ).first()
    if review is not None and day < today:
        raise Conflict("That day already has a review: a late entry is only for a missed day", field="review_date")
    values: dict[str, Any] = {
        "meets_criteria_to_reside": data.meets_criteria_to_reside,
        "delay_reason_code": data.delay_reason_code if not data.meets_criteria_to_reside else None,
        "day_status": data.day_status,
        "red_day_reason_code": data.red_day_reason_code if data.day_status == "red" else None,
        "pathway": data.pathway,
        "plan": data.plan,
        "reviewed_by_id": actor.user_id,
        "reviewed_at": now,
        "late_entry_reason": data.late_entry_reason,
    }
    created = review is None
    if review is None:
        review = DailyReview(stay_id=stay.id, review_date=day, created_at=now, updated_at=now, **values)
        session.add(review)
        session.flush()
        before = None
    else:
        old_criteria = criteria_for(session, [review.id])[review.id]
        if data.version is None:
            raise PreconditionRequired(
                "Today's review has already been recorded: send the `version` of it you saw to replace it, "
                "so that nobody's answers are overwritten without them knowing",
                field="version",
            )
        check_version(session, review, data.version, lambda: present(review, old_criteria))
        before = audit.snapshot(review, criteria=old_criteria)
        for key, value in values.items():
            setattr(review, key, value)
        review.updated_at = now
        session.exec(delete(ReviewCriterion).where(col(ReviewCriterion.review_id) == review.id))
    for code in criteria:
        session.add(ReviewCriterion(review_id=review.id, criterion_code=code))
    session.flush()
    after = audit.snapshot(review, criteria=criteria)
    if before is None:
        audit.record(
            session,
            actor=actor,
            action="late_review" if day < today else "record_review",
            entity=review,
            at=now,
            after=after,
            ward_id=stay.ward_id,
            patient_id=stay.patient_id,
        )
    else:
        old, new = audit.changed(before, after)
        audit.record(
            session,
            actor=actor,
            action="replace_review",
            entity=review,
            at=now,
            before=old,
            after=new,
            ward_id=stay.ward_id,
            patient_id=stay.patient_id,
        )
    _update_stay_from_review(session, actor=actor, stay=stay, review=review, today=today, now=now)
    return review, criteria, created


def _update_stay_from_review(
    session: Session,
    *,
    actor: Principal,
    stay: Stay,
    review: DailyReview,
    today: date,
    now: datetime,
) -> None:
    before = {"discharge_ready_date": stay.discharge_ready_date, "pathway": stay.pathway}
    # A late entry for an earlier day moves the DRD back when it starts the current NCTR run.
    stay.discharge_ready_date = discharge_ready_date(session, stay.id, today)
    later = (
        review.review_date < today
        and session.exec(
            select(DailyReview.id).where(
                DailyReview.stay_id == stay.id,
                DailyReview.review_date > review.review_date,
                col(DailyReview.pathway).is_not(None),
            )
        ).first()
    )
    if review.pathway is not None and not later:  # a late entry's pathway does not undo a later day's
        stay.pathway = review.pathway
    after = {"discharge_ready_date": stay.discharge_ready_date, "pathway": stay.pathway}
    if before != after:
        stay.updated_at = now
        session.flush()
        old, new = audit.changed(
            {k: audit.json_value(v) for k, v in before.items()},
            {k: audit.json_value(v) for k, v in after.items()},
        )
        audit.record(
            session,
            actor=actor,
            action="update_from_review",
            entity=stay,
            at=now,
            before=old,
            after=new,
            ward_id=stay.ward_id,
            patient_id=stay.patient_id,
        )
    if before["pathway"] != after["pathway"]:
        milestones.sync_for_pathway(session, actor=actor, stay=stay, now=now)


def reviews_for_stay(session: Session, stay_id: int, limit: int = 30) -> list[tuple[DailyReview, list[str]]]:
    reviews = list(
        session.exec(
            select(DailyReview)
            .where(DailyReview.stay_id == stay_id)
            .order_by(col(DailyReview.review_date).desc())
            .limit(limit)
        )
    )
    crit = criteria_for(session, [r.id for r in reviews])
    return [(r, crit[r.id]) for r in reviews]
