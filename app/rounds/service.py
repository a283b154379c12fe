"""Board-round sessions."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from app.audit import service as audit
from app.audit.versions import check_version
from app.core.clock import london_date
from app.core.errors import Conflict, NotFound, RuleViolation
from app.core.principal import Principal
from app.models import BoardRound, BoardRoundAttendee, StaffRole, Ward
from app.rounds.schemas import AttendeePublic, RoundPublic, RoundStart


def attendees_for(session: Session, round_id: int) -> list[BoardRoundAttendee]:
    return list(
        session.exec(
            select(BoardRoundAttendee)
            .where(BoardRoundAttendee.board_round_id == round_id)
            .order_by(col(BoardRoundAttendee.id))
        )
    )


def present(board_round: BoardRound, attendees: list[BoardRoundAttendee]) -> dict:
    return (
        RoundPublic.model_validate(board_round)
        .model_copy(update={"attendees": [AttendeePublic.model_validate(a) for a in attendees]})
        .model_dump(mode="json")
    )


def open_round(session: Session, ward_id: int) -> BoardRound | None:
    return session.exec(
        select(BoardRound)
        .where(BoardRound.ward_id == ward_id, col(BoardRound.ended_at).is_(None))
        .order_by(col(BoardRound.id).desc())
    ).first()


def ended_today(session: Session, ward_id: int, now: datetime) -> BoardRound | None:
    """The ward's last round, if it started today (London) and has ended."""
    last = session.exec(
        select(BoardRound).where(BoardRound.ward_id == ward_id).order_by(col(BoardRound.id).desc()).limit(1)
    ).first()
    if last is None or last.ended_at is None or london_date(last.started_at) != london_date(now):
        return None
    return last


def start_round(session: Session, *, actor: Principal, ward: Ward, data: RoundStart, now: datetime) -> BoardRound:
    existing = open_round(session, ward.id)
    if existing is not None:
        raise Conflict(
            "A board round is already running on this ward", field="ward", detail={"board_round_id": existing.id}
        )
    codes = {a.role_code for a in data.attendees}
    known = set(session.exec(select(StaffRole.code).where(col(StaffRole.code).in_(codes)))) if codes else set()
    if codes - known:
        raise RuleViolation(f"Unknown roles: {', '.join(sorted(codes - known))}", field="attendees")
    board_round = BoardRound(
        ward_id=ward.id, started_at=now, started_by_id=actor.user_id, created_at=now, updated_at=now
    )
    session.add(board_round)
    session.flush()
    for attendee in data.attendees:
        session.add(
            BoardRoundAttendee(
                board_round_id=board_round.id,
                role_code=attendee.role_code,
                name=attendee.name,
                created_at=now,
                updated_at=now,
            )
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="start_round",
        entity=board_round,
        at=now,
        after=audit.snapshot(board_round, attendees=[a.model_dump() for a in data.attendees]),
        ward_id=ward.id,
    )
    return board_round


def end_round(
    session: Session,
    *,
    actor: Principal,
    board_round: BoardRound,
    expected_version: int,
    now: datetime,
) -> BoardRound:
    check_version(
        session, board_round, expected_version, lambda: present(board_round, attendees_for(session, board_round.id))
    )
    if board_round.ended_at is not None:
        raise Conflict("This board round has already ended", field="board_round")
    board_round.ended_at = now
    board_round.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="end_round",
        entity=board_round,
        at=now,
        after={"ended_at": now.isoformat()},
        ward_id=board_round.ward_id,
    )
    return board_round


def round_or_404(session: Session, principal: Principal, round_id: int) -> BoardRound:
    board_round = session.get(BoardRound, round_id)
    if board_round is None or not principal.can_access_ward(board_round.ward_id):
        raise NotFound("No such board round")
    return board_round
