"""Daily criteria-to-reside review: one per stay per London date; re-recording replaces it, given the
version of today's review the client saw (so nobody's answers are overwritten unseen)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, delete, select

from app.audit import service as audit
from app.audit.versions import check_version
from app.auth.permissions import Perm, allows
from app.core.clock import before_midday, london_date
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
    ReviewDelayReason,
    Stay,
)
from app.reviews import red_green
from app.reviews.holding import holding_discharge
from app.reviews.schemas import DelayReasonIn, DelayReasonPublic, ReviewPublic, ReviewRequest

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


def delay_reasons_for(session: Session, review_ids: list[int]) -> dict[int, list[DelayReasonPublic]]:
    """Each review's delay reasons, the primary first."""
    out: dict[int, list[DelayReasonPublic]] = {rid: [] for rid in review_ids}
    if review_ids:
        rows = session.exec(
            select(ReviewDelayReason)
            .where(col(ReviewDelayReason.review_id).in_(review_ids))
            .order_by(col(ReviewDelayReason.is_primary).desc(), col(ReviewDelayReason.reason_code))
        )
        for row in rows:
            out[row.review_id].append(
                DelayReasonPublic(code=row.reason_code, primary=row.is_primary, list_version=row.list_version)
            )
    return out


def present(review: DailyReview, criteria: list[str], delay_reasons: list[DelayReasonPublic] | None = None) -> dict:
    senior = review.senior_reviewed_at
    return (
        ReviewPublic.model_validate(review)
        .model_copy(
            update={
                "criteria": criteria,
                "delay_reasons": delay_reasons or [],
                "senior_review_before_midday": before_midday(senior) if senior is not None else None,
            }
        )
        .model_dump(mode="json")
    )


def _delay_reasons(session: Session, data: ReviewRequest) -> list[DelayReasonIn]:
    """The review's delay reasons, the primary first: `delay_reasons` with exactly one primary, or
    `delay_reason_code` alone as the only one. Each an active code of the national list."""
    if data.meets_criteria_to_reside:
        return []
    reasons = list(data.delay_reasons)
    if not reasons:
        if not data.delay_reason_code:
            raise RuleViolation("Say why the patient is still here (delay reason)", field="delay_reason_code")
        reasons = [DelayReasonIn(code=data.delay_reason_code, primary=True)]
    primaries = [r for r in reasons if r.primary]
    if len(primaries) != 1:
        raise RuleViolation(
            "Mark exactly one delay reason as the primary one" if primaries else "Choose the main delay reason",
            field="delay_reasons",
        )
    if data.delay_reason_code and data.delay_reason_code != primaries[0].code:
        raise RuleViolation("The delay reason must be the primary one of the delay reasons", field="delay_reason_code")
    codes = [r.code for r in reasons]
    if len(set(codes)) != len(codes):
        raise RuleViolation("Give each delay reason once", field="delay_reasons")
    known = {
        row.code
        for row in session.exec(select(DelayReason).where(col(DelayReason.code).in_(codes), col(DelayReason.active)))
    }
    if primaries[0].code not in known:
        raise RuleViolation(
            "Unknown delay reason", field="delay_reason_code" if not data.delay_reasons else "delay_reasons"
        )
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise RuleViolation(f"Unknown delay reasons: {', '.join(unknown)}", field="delay_reasons")
    return primaries + [r for r in reasons if not r.primary]


def derive_day(
    session: Session, *, stay: Stay, meets_criteria_to_reside: bool, primary_delay_code: str | None, now: datetime
) -> red_green.Derived:
    """The day's colour by the rule, for these answers and what holds the stay's discharge now."""
    return red_green.derive(
        meets_criteria_to_reside=meets_criteria_to_reside,
        primary_delay_code=primary_delay_code,
        holding=holding_discharge(session, stay.id, now),
    )


def _day_status(derived: red_green.Derived, data: ReviewRequest) -> tuple[str, str]:
    """The day's colour and the override reason: the rule's colour, or the team's with a reason."""
    if not red_green.is_override(derived, data.day_status):
        return derived.status, ""
    if not data.day_status_override_reason:
        raise RuleViolation(
            f"The answers make today a {derived.status} day ({derived.because}): say why it is "
            f"{data.day_status} instead, or keep the rule's colour",
            field="day_status_override_reason",
        )
    return data.day_status or derived.status, data.day_status_override_reason


def _senior_review(data: ReviewRequest, day: date, now: datetime) -> tuple[str, datetime | None]:
    if data.senior_reviewed_at is None and not data.senior_reviewer:
        return "", None
    if data.senior_reviewed_at is None:
        raise RuleViolation("Say when the senior review was", field="senior_reviewed_at")
    if not data.senior_reviewer:
        raise RuleViolation("Say who gave the senior review", field="senior_reviewer")
    if london_date(data.senior_reviewed_at) != day:
        raise RuleViolation("The senior review must be on the review's day", field="senior_reviewed_at")
    if data.senior_reviewed_at > now:
        raise RuleViolation("The senior review cannot be in the future", field="senior_reviewed_at")
    return data.senior_reviewer, data.senior_reviewed_at


def _validate_codes(session: Session, data: ReviewRequest) -> list[str]:
    criteria = sorted(set(data.criteria))
    if data.meets_criteria_to_reside and not criteria:
        criteria = [CRITERION_NOT_RECORDED]
    if criteria:
        known = set(session.exec(select(Criterion.code).where(col(Criterion.code).in_(criteria))))
        unknown = [c for c in criteria if c not in known]
        if unknown:
            raise RuleViolation(f"Unknown criteria: {', '.join(unknown)}", field="criteria")
    if data.red_day_reason_code and session.get(RedDayReason, data.red_day_reason_code) is None:
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
    delay_reasons = _delay_reasons(session, data)
    primary = delay_reasons[0].code if delay_reasons else None
    derived = derive_day(
        session, stay=stay, meets_criteria_to_reside=data.meets_criteria_to_reside, primary_delay_code=primary, now=now
    )
    # A red-day reason (Red2Green) is kept on a red day; on a day the rule makes green it lapses.
    day_status, override_reason = _day_status(derived, data)
    senior_reviewer, senior_reviewed_at = _senior_review(data, day, now)
    versions = {
        row.code: row.list_version
        for row in session.exec(select(DelayReason).where(col(DelayReason.code).in_([r.code for r in delay_reasons])))
    }
    reasons = [(r.code, r.primary, versions[r.code]) for r in delay_reasons]
    review = session.exec(
        select(DailyReview).where(DailyReview.stay_id == stay.id, DailyReview.review_date == day)
    ).first()
    if review is not None and day < today:
        raise Conflict("That day already has a review: a late entry is only for a missed day", field="review_date")
    values: dict[str, Any] = {
        "meets_criteria_to_reside": data.meets_criteria_to_reside,
        "delay_reason_code": primary,
        "day_status": day_status,
        "derived_day_status": derived.status,
        "day_status_delay_code": derived.delay_code if day_status == "red" else None,
        "day_status_override_reason": override_reason,
        "red_day_reason_code": data.red_day_reason_code if day_status == "red" else None,
        "senior_reviewer": senior_reviewer,
        "senior_reviewed_at": senior_reviewed_at,
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
        old_reasons = delay_reasons_for(session, [review.id])[review.id]
        if data.version is None:
            raise PreconditionRequired(
                "Today's review has already been recorded: send the `version` of it you saw to replace it, "
                "so that nobody's answers are overwritten without them knowing",
                field="version",
            )
        check_version(session, review, data.version, lambda: present(review, old_criteria, old_reasons))
        before = audit.snapshot(review, criteria=old_criteria, delay_reasons=_audited(old_reasons))
        for key, value in values.items():
            setattr(review, key, value)
        review.updated_at = now
        session.exec(delete(ReviewCriterion).where(col(ReviewCriterion.review_id) == review.id))
        session.exec(delete(ReviewDelayReason).where(col(ReviewDelayReason.review_id) == review.id))
        session.flush()
    for code in criteria:
        session.add(ReviewCriterion(review_id=review.id, criterion_code=code))
    for code, is_primary, list_version in reasons:
        session.add(
            ReviewDelayReason(review_id=review.id, reason_code=code, is_primary=is_primary, list_version=list_version)
        )
    session.flush()
    after = audit.snapshot(
        review,
        criteria=criteria,
        delay_reasons=_audited([DelayReasonPublic(code=c, primary=p, list_version=v) for c, p, v in reasons]),
    )
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


def _audited(reasons: list[DelayReasonPublic]) -> list[str]:
    """Delay reasons as the audit trail shows them: codes, the primary marked with a star."""
    return [f"{r.code}*" if r.primary else r.code for r in reasons]


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
