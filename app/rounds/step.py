"""One patient's turn at the board: every answer applied through the domain services, at once.

`save_step` is the one write path for the round stepper's form, the patient page's form, their
"no change since last review" button and `POST /api/v1/rounds/{id}/stays/{stay_id}`: the same
rules, audit trail, version checks and ward scope whichever way the answers come. It never
commits; the route does, once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.actions.schemas import ActionCreate, ActionPublic
from app.actions.service import create_action
from app.audit.versions import check_version
from app.auth.scope import stay_or_404
from app.core.clock import london_date
from app.core.errors import DomainError, NotFound, PreconditionRequired, RuleViolation
from app.core.principal import Principal
from app.escalations import service as escalations
from app.models import Action, Bed, BoardRound, BoardRoundEntry, DailyReview, Escalation, Stay
from app.reviews import service as reviews
from app.reviews.schemas import ReviewAnswers, ReviewRequest
from app.rounds.queries import no_change_needs, previous_review
from app.rounds.schemas import RoundEntryPublic, RoundStepRequest
from app.rounds.service import round_or_404
from app.stays import service as stays

# Whatever changes the stay besides the review and the EDD (sent fields only).
STAY_FIELDS = (
    "clinical_criteria_for_discharge",
    "what_matters",
    "strengths",
    "choice_information_given_on",
    "choice_offered_on",
    "choice_deadline",
)


@dataclass
class StepResult:
    review: DailyReview
    criteria: list[str]
    actions: list[Action]
    escalation: Escalation | None
    entry: BoardRoundEntry | None


def target(session: Session, actor: Principal, round_id: int, stay_id: int) -> tuple[BoardRound, Stay]:
    """The round and the patient, both in the actor's scope and on the same ward (else 404)."""
    board_round = round_or_404(session, actor, round_id)
    stay = stay_or_404(session, actor, stay_id)
    if stay.ward_id != board_round.ward_id:
        raise NotFound("That patient is not on this round's ward")
    return board_round, stay


@contextmanager
def _fields(renamed: dict[str | None, str]) -> Iterator[None]:
    """Errors of a part of the step named by the request's fields (`review.criteria`, not `criteria`)."""
    try:
        yield
    except DomainError as exc:
        if exc.field in renamed:
            exc.field = renamed[exc.field]
        raise


def save_step(
    session: Session,
    *,
    actor: Principal,
    stay: Stay,
    data: RoundStepRequest,
    now: datetime,
    board_round: BoardRound | None = None,
) -> StepResult:
    """Record the review (or confirm the last one), then the EDD, the stay's other answers, new
    actions, an escalation, and the patient's entry in the round. All or nothing: the first
    broken rule raises, and the route rolls everything back."""
    if data.stay_version is None:
        raise PreconditionRequired(
            "Send the version of the stay you last saw (`stay_version` or If-Match), so that nobody's "
            "change is overwritten without them knowing",
            field="stay_version",
        )
    with _fields({None: "stay_version"}):
        check_version(session, stay, data.stay_version, lambda: stays.present(stay))
    if data.no_change:
        _check_no_change(session, stay, data, now)
    answers = data.review if data.review is not None else _last_answers(session, stay, now)
    with _fields({None: "review_version", "version": "review_version"} | _prefixed("review", answers)):
        review, criteria, _ = reviews.record_review(
            session,
            actor=actor,
            stay=stay,
            now=now,
            data=ReviewRequest(**answers.model_dump(), version=data.review_version),
        )
    sent = data.model_fields_set
    if "expected_discharge_date" in sent:
        _set_edd(session, actor=actor, stay=stay, data=data, now=now)
    changes = {
        key: getattr(data, key) for key in STAY_FIELDS if key in sent and getattr(stay, key) != getattr(data, key)
    }
    if changes:
        stays.update_stay(session, actor=actor, stay=stay, changes=changes, expected_version=stay.version, now=now)
    actions = []
    for index, item in enumerate(data.actions):
        with _fields(_prefixed(f"actions.{index}", item)):
            actions.append(
                create_action(
                    session,
                    actor=actor,
                    stay=stay,
                    now=now,
                    data=ActionCreate(
                        **item.model_dump(), board_round_id=board_round.id if board_round is not None else None
                    ),
                )
            )
    escalation = None
    if data.escalation is not None:
        with _fields(_prefixed("escalation", data.escalation)):
            escalation = escalations.raise_escalation(session, actor=actor, stay=stay, now=now, data=data.escalation)
    outcome = "no_change" if data.no_change else "reviewed"
    entry = _enter(session, board_round=board_round, stay=stay, outcome=outcome, actor=actor, now=now)
    return StepResult(review, criteria, actions, escalation, entry)


def _prefixed(prefix: str, part: Any) -> dict[str | None, str]:
    return {name: f"{prefix}.{name}" for name in type(part).model_fields}


def _check_no_change(session: Session, stay: Stay, data: RoundStepRequest, now: datetime) -> None:
    """ "No change" cannot confirm a date that has passed, nor a reason for staying given two or
    more days ago without the team saying it still holds: it asks for that one thing."""
    today = london_date(now)
    last, _ = previous_review(session, stay.id, today)
    needs = no_change_needs(stay, last, today)
    if needs["edd_passed"] and (data.expected_discharge_date is None or data.expected_discharge_date < today):
        passed = stay.expected_discharge_date
        assert passed is not None
        raise RuleViolation(
            f"The expected discharge date ({passed:%-d %b}) has passed: choose a new one, then No change",
            field="expected_discharge_date",
        )
    if needs["reason_stale"] and not data.confirm_delay_reason:
        assert last is not None
        raise RuleViolation(
            f"The reason the patient is still here was last given on {last.review_date:%-d %b}: "
            "confirm it still holds, or answer the questions",
            field="confirm_delay_reason",
        )


def _last_answers(session: Session, stay: Stay, now: datetime) -> ReviewAnswers:
    """'No change since last review': the answers of the last review before today."""
    last, criteria = previous_review(session, stay.id, london_date(now))
    if last is None:
        raise RuleViolation("There is no earlier review to confirm: answer the questions", field="no_change")
    return ReviewAnswers.model_validate(
        {
            "meets_criteria_to_reside": last.meets_criteria_to_reside,
            "criteria": criteria if last.meets_criteria_to_reside else [],
            "delay_reason_code": last.delay_reason_code,
            "day_status": last.day_status,
            "red_day_reason_code": last.red_day_reason_code,
            "pathway": last.pathway,
            "plan": last.plan,
        }
    )


def _set_edd(session: Session, *, actor: Principal, stay: Stay, data: RoundStepRequest, now: datetime) -> None:
    if data.expected_discharge_date is None:
        if stay.expected_discharge_date is not None:
            raise RuleViolation("Enter the expected discharge date", field="expected_discharge_date")
        return
    if data.expected_discharge_date == stay.expected_discharge_date:
        return
    with _fields({"reason": "edd_reason"}):
        stays.set_edd(
            session,
            actor=actor,
            stay=stay,
            new_date=data.expected_discharge_date,
            reason=data.edd_reason,
            expected_version=stay.version,
            now=now,
        )


def _enter(
    session: Session, *, board_round: BoardRound | None, stay: Stay, outcome: str, actor: Principal, now: datetime
) -> BoardRoundEntry | None:
    if board_round is None:
        return None
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
        entry = BoardRoundEntry(
            board_round_id=board_round.id,
            stay_id=stay.id,
            outcome=outcome,
            completed_at=now,
            seconds=seconds,
            actor_id=actor.user_id,
            created_at=now,
            updated_at=now,
        )
        session.add(entry)
    else:
        entry.outcome = outcome
        entry.completed_at = now
        entry.seconds = entry.seconds + seconds if outcome != "skipped" else entry.seconds
        entry.actor_id = actor.user_id
        entry.updated_at = now
    session.flush()
    return entry


def present(session: Session, stay: Stay, result: StepResult) -> dict[str, Any]:
    """The JSON answer: the round entry, the stay now, and every record the step wrote."""
    assert result.entry is not None, "a step through the API is always in a round"
    escalation, raised = None, result.escalation
    if raised is not None and raised.id is not None:
        escalation = escalations.present(raised, escalations.events_for(session, [raised.id])[raised.id])
    return {
        "entry": RoundEntryPublic.model_validate(result.entry).model_dump(mode="json"),
        "stay": stays.present(stay),
        "review": reviews.present(result.review, result.criteria),
        "actions": [ActionPublic.model_validate(a).model_dump(mode="json") for a in result.actions],
        "escalation": escalation,
    }


def skip(session: Session, *, actor: Principal, stay: Stay, board_round: BoardRound, now: datetime) -> None:
    _enter(session, board_round=board_round, stay=stay, outcome="skipped", actor=actor, now=now)


def round_order(session: Session, board_round: BoardRound) -> list[int]:
    """Current stays on the round's ward in bed order (patients without a bed last)."""
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
