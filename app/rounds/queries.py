"""What the patient screen shows and pre-fills, shared by the round stepper and the patient page;
who changed what since a form was drawn; the earlier review the round step's "no change" confirms."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app.actions.service import actions_for_stay
from app.audit.service import last_change
from app.core import codes
from app.core.clock import LONDON, day_month_year, london_date, london_wall_clock, midnights_since
from app.models import AuditEvent, Bed, DailyReview, EddChange, Escalation, FailedDischarge, Patient, Referral, Stay
from app.reference import labels, rows
from app.reviews import red_green
from app.reviews.service import criteria_for, delay_reasons_for, derive_day
from app.stays import referrals
from app.stays.service import EDD_MAX_DAYS_AHEAD
from app.wards.queries import age_on

# What a review's conflict lists: the answers, not the bookkeeping columns of a new row.
REVIEW_ANSWERS = (
    "meets_criteria_to_reside",
    "criteria",
    "delay_reason_code",
    "delay_reasons",
    "day_status",
    "day_status_override_reason",
    "red_day_reason_code",
    "pathway",
    "plan",
    "senior_reviewer",
    "senior_reviewed_at",
)


def todays_review(session: Session, stay_id: int, today: date) -> DailyReview | None:
    return session.exec(
        select(DailyReview).where(DailyReview.stay_id == stay_id, DailyReview.review_date == today)
    ).first()


def previous_review(session: Session, stay_id: int, before: date) -> tuple[DailyReview | None, list[str]]:
    review = session.exec(
        select(DailyReview)
        .where(DailyReview.stay_id == stay_id, DailyReview.review_date < before)
        .order_by(col(DailyReview.review_date).desc())
        .limit(1)
    ).first()
    if review is None:
        return None, []
    return review, criteria_for(session, [review.id])[review.id]


def form_values(session: Session, stay: Stay, today: date) -> dict[str, Any]:
    """Today's answers if already given, else the last review's: 'no change' is one tap."""
    review = todays_review(session, stay.id, today)
    criteria = criteria_for(session, [review.id])[review.id] if review else []
    source = review
    if review is None:
        source, criteria = previous_review(session, stay.id, today)
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
        # The colour shows as chosen only when it overrode the rule; otherwise the rule decides again.
        overridden = source.derived_day_status is not None and source.day_status != source.derived_day_status
        values |= {
            "meets": "yes" if source.meets_criteria_to_reside else "no",
            "criteria": [c for c in criteria if c != "12"],
            "delay_reason_code": source.delay_reason_code or "",
            "other_delay_reasons": [
                r.code for r in delay_reasons_for(session, [source.id])[source.id] if not r.primary
            ],
            "day_status": source.day_status if overridden else "",
            "day_status_override_reason": source.day_status_override_reason if overridden else "",
            "red_day_reason_code": source.red_day_reason_code or "",
            "plan": source.plan,
        }
    if review is not None and review.senior_reviewed_at is not None:  # a senior review is today's only
        values |= {
            "senior_reviewer": review.senior_reviewer,
            "senior_review_time": london_wall_clock(review.senior_reviewed_at).strftime("%H:%M"),
        }
    return values


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def red_green_state(
    session: Session,
    stay: Stay,
    *,
    meets: bool | None,
    primary_delay_code: str | None,
    chosen: str | None,
    now: datetime,
) -> dict[str, Any]:
    """What the live red/green indicator shows: the rule's colour for these answers, its national
    delay code, and whether the colour chosen on the form overrides it (which needs a reason)."""
    if meets is None:
        return {"derived": None, "status": chosen, "override": False, "delay_label": ""}
    derived = derive_day(
        session, stay=stay, meets_criteria_to_reside=meets, primary_delay_code=primary_delay_code, now=now
    )
    override = red_green.is_override(derived, chosen if chosen in ("red", "green") else None)  # type: ignore[arg-type]
    delay_label = labels(session, "delay_reasons").get(derived.delay_code or "", "")
    return {
        "derived": derived,
        "status": chosen if override else derived.status,
        "override": override,
        "delay_label": delay_label,
    }


def patient_context(session: Session, stay: Stay, now: datetime) -> dict[str, Any]:
    today = london_date(now)
    patient = session.get(Patient, stay.patient_id)
    reviewed_today = (
        session.exec(
            select(DailyReview.id).where(DailyReview.stay_id == stay.id, DailyReview.review_date == today)
        ).first()
        is not None
    )
    last, _ = previous_review(session, stay.id, today)
    shown = todays_review(session, stay.id, today) or last  # what the form opens with
    overridden = shown is not None and shown.derived_day_status not in (None, shown.day_status)
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
        "now": now,
        "reviewed_today": reviewed_today,
        "last_review": last,
        "open_actions": actions_for_stay(session, stay.id, open_only=True),
        "escalations": escalations,
        "referrals": list(session.exec(select(Referral).where(Referral.stay_id == stay.id).order_by(col(Referral.id)))),
        "referral_lines": referral_lines(session, stay.id, now),
        "edd_history": list(
            session.exec(select(EddChange).where(EddChange.stay_id == stay.id).order_by(col(EddChange.id)))
        ),
        "ref": {
            name: rows(session, name)
            for name in ("criteria", "delay_reasons", "red_day_reasons", "pathways", "roles", "families")
        },
        "red_green": red_green_state(
            session,
            stay,
            meets=None if shown is None else shown.meets_criteria_to_reside,
            primary_delay_code=shown.delay_reason_code if shown else None,
            chosen=shown.day_status if shown and overridden else None,
            now=now,
        ),
    }


def conflict_details(session: Session, stay: Stay) -> dict[str, Any]:
    """Who changed the patient since the form was opened, and what they changed."""
    described = _described([(last_change(session, "stay", stay.id), None)])
    return described | {"shown": worded_changes(session, described["changes"])}


def step_conflict(
    session: Session, stay: Stay, today: date, *, stay_version: int | None, review_version: int | None
) -> dict[str, Any]:
    """Who changed the patient since the round-step form was drawn at these versions, and what:
    the stay, today's review (recorded or replaced since), or both."""
    changed: list[tuple[AuditEvent | None, tuple[str, ...] | None]] = []
    if stay.version != stay_version:
        changed.append((last_change(session, "stay", stay.id), None))
    review = todays_review(session, stay.id, today)
    if review is not None and review.version != review_version:
        changed.append((last_change(session, "dailyreview", review.id), REVIEW_ANSWERS))
    described = _described(changed)
    return described | {"shown": worded_changes(session, described["changes"])}


def _described(changed: list[tuple[AuditEvent | None, tuple[str, ...] | None]]) -> dict[str, Any]:
    """The latest change's author and time, and every changed field (only `keys`, where given)."""
    events = [(event, keys) for event, keys in changed if event is not None]
    if not events:
        return {"who": "Someone", "when": None, "changes": []}
    latest = max((event for event, _ in events), key=lambda event: event.id or 0)
    changes = [
        (key, (event.before or {}).get(key), value)
        for event, keys in events
        for key, value in (event.after or {}).items()
        if keys is None or key in keys
    ]
    return {"who": latest.actor_name, "when": latest.occurred_at, "action": latest.action, "changes": changes}


def current_versions(session: Session, stay: Stay, today: date) -> dict[str, Any]:
    """The versions to draw the form at again, once the user has been shown what changed."""
    review = todays_review(session, stay.id, today)
    return {"stay_version": stay.version, "review_version": review.version if review else ""}


# "No change" confirms yesterday's picture: a delay reason last given before then must be confirmed.
STALE_REASON_AFTER_DAYS = 2
HISTORY_DAYS = 7


def no_change_needs(stay: Stay, last: DailyReview | None, today: date) -> dict[str, Any]:
    """What "no change since last review" cannot confirm on its own: an expected discharge date
    that has passed (a new one is needed), or a "no criteria to reside" reason given two or more
    days ago (the team confirms it still holds). Shared by the step page and app.rounds.step."""
    edd = stay.expected_discharge_date
    stale = (
        last is not None
        and not last.meets_criteria_to_reside
        and last.delay_reason_code is not None
        and (today - last.review_date).days >= STALE_REASON_AFTER_DAYS
    )
    return {
        "edd_passed": edd is not None and edd < today,
        "reason_stale": stale,
        "reason_since": last.review_date if stale and last is not None else None,
    }


def step_extras(session: Session, stay: Stay, now: datetime) -> dict[str, Any]:
    """What the round step shows beyond the patient screen: the last week's answers and EDD
    changes, open failed-discharge follow-ups, and the labels for codes."""
    today = london_date(now)
    since = today - timedelta(days=HISTORY_DAYS - 1)
    reviews = list(
        session.exec(
            select(DailyReview)
            .where(DailyReview.stay_id == stay.id, col(DailyReview.review_date) >= since)
            .order_by(col(DailyReview.review_date).desc())
        )
    )
    since_moment = datetime.combine(since, datetime.min.time(), tzinfo=LONDON)
    edd_changes = list(
        session.exec(
            select(EddChange)
            .where(EddChange.stay_id == stay.id, col(EddChange.changed_at) >= since_moment)
            .order_by(col(EddChange.changed_at).desc())
        )
    )
    failed = list(
        session.exec(
            select(FailedDischarge)
            .where(FailedDischarge.stay_id == stay.id)
            .order_by(col(FailedDischarge.planned_for).desc())
        )
    )
    last, _ = previous_review(session, stay.id, today)
    return {
        "recent_reviews": reviews,
        "recent_edd_changes": edd_changes,
        "failed_discharges": failed,
        "no_change_needs": no_change_needs(stay, last, today),
        "labels": {
            name: labels(session, name)
            for name in ("delay_reasons", "red_day_reasons", "roles", "families", "pathways")
        },
        "quick_dates": quick_dates(today),
        # What the EDD may be (app.stays.service refuses the rest, on the API too).
        "edd_range": (london_date(stay.admitted_at), today + timedelta(days=EDD_MAX_DAYS_AHEAD)),
    }


def quick_dates(today: date) -> list[tuple[str, date]]:
    """The EDD shortcuts: +1, +2, +3 and +7 days from today, and the next weekday."""
    days = [(f"+{n}", today + timedelta(days=n)) for n in (1, 2, 3, 7)]
    weekday = today + timedelta(days=1)
    while weekday.weekday() >= 5:
        weekday += timedelta(days=1)
    return [*days, ("Next weekday", weekday)]


# The conflict panel says what changed in words: field names and values as the form shows them.
FIELD_WORDS = {
    "meets_criteria_to_reside": "Criteria to reside",
    "criteria": "Criteria met",
    "delay_reason_code": "Why the patient is still here",
    "day_status": "Red or green day",
    "red_day_reason_code": "Why today is red",
    "pathway": "Discharge pathway",
    "plan": "Plan for today",
    "expected_discharge_date": "Expected discharge date",
    "edd_reason": "Why the EDD changed",
    "reason": "Why the EDD changed",
    "clinical_criteria_for_discharge": "Clinical criteria for discharge",
    "what_matters": "What matters to the patient",
    "strengths": "What they and their family or carers can do",
    "choice_information_given_on": "Choice information given on",
    "choice_offered_on": "Choice offered on",
    "choice_deadline": "Choice deadline",
}
CODE_LISTS = {
    "delay_reason_code": "delay_reasons",
    "red_day_reason_code": "red_day_reasons",
    "pathway": "pathways",
    "criteria": "criteria",
}
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T")


def worded_changes(session: Session, changes: list[tuple[str, Any, Any]]) -> list[tuple[str, str, str]]:
    """(field, before, after) in words, London dates and times, labels for codes; bookkeeping
    columns (version, timestamps) left out."""
    lists = {name: {str(k): v for k, v in labels(session, name).items()} for name in set(CODE_LISTS.values())}
    out = []
    for key, old, new in changes:
        if key not in FIELD_WORDS:
            continue
        before, after = _word(key, old, lists), _word(key, new, lists)
        if before != after:
            out.append((FIELD_WORDS[key], before, after))
    return out


def _word(key: str, value: Any, lists: dict[str, dict[str, str]]) -> str:
    if value is None or value == "" or value == []:
        return "(empty)"
    if key == "meets_criteria_to_reside":
        return "Meets criteria" if value else "No criteria to reside"
    if key == "day_status":
        return "Red day" if value == "red" else "Green day"
    if key in CODE_LISTS:
        names = lists[CODE_LISTS[key]]
        items = value if isinstance(value, list) else [value]
        return ", ".join(names.get(str(item), str(item)) for item in items)
    text = str(value)
    if _ISO_DAY.match(text):
        return day_month_year(date.fromisoformat(text))
    if _ISO_MOMENT.match(text):
        local = london_wall_clock(datetime.fromisoformat(text))
        return f"{day_month_year(local.date())}, {local:%H:%M}"
    return text


REFERRAL_STATUS_WORDS = {
    referrals.SENT: "awaiting an answer",
    codes.REFERRAL_ACCEPTED: "accepted, assessment awaited",
    referrals.ASSESSED: "assessed, decision awaited",
    referrals.DECIDED: "decided",
    codes.REFERRAL_DECLINED: "declined",
    codes.REFERRAL_CHALLENGED: "challenged as inappropriate",
}


def referral_lines(session: Session, stay_id: int, now: datetime) -> list[dict[str, Any]]:
    """The stay's referrals as the step lists them: service, where each has got to, how long it has waited."""
    names = labels(session, "referral_services")
    lines = []
    for r in session.exec(select(Referral).where(Referral.stay_id == stay_id).order_by(col(Referral.id))):
        state = referrals.status(r)
        lines.append(
            {
                "service": names.get(r.service_code, r.service_code),
                "detail": r.detail,
                "sent_at": r.sent_at,
                "status": REFERRAL_STATUS_WORDS.get(state, state),
                "open": referrals.is_open(r),
                "waiting": now - r.sent_at,
                "decision": r.decision,
            }
        )
    return lines
