"""A stay's ward history (staylocation rows) kept in step with its admission and discharge times.

The first row starts when the stay was admitted and the last ends when it was discharged (open while
the stay is current). The census, NCTR bed days, long stays, compliance and the NCTR snapshot read
the rows; length of stay and the DRD extract read the stay: the two must tell the same story.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.core.clock import london_text
from app.core.errors import RuleViolation
from app.models import Stay, StayLocation


def rows(session: Session, stay: Stay) -> list[StayLocation]:
    """The stay's ward history in the order it happened."""
    return list(
        session.exec(
            select(StayLocation)
            .where(StayLocation.stay_id == stay.id)
            .order_by(col(StayLocation.started_at), col(StayLocation.id))
        )
    )


def _move_of(history: list[StayLocation], index: int) -> str:
    """ "The patient moved ward at 14:05 on 2 Nov 2026" for the move that started row `index`."""
    kind = "ward" if history[index].ward_id != history[index - 1].ward_id else "bed"
    return f"The patient moved {kind} at {london_text(history[index].started_at)}"


def refuse_crossing(
    history: list[StayLocation], *, admitted_at: datetime | None, discharged_at: datetime | None, advice: str
) -> None:
    """An admission after the first move, or a discharge before the last, would leave ward-history
    rows outside the stay: refused, naming the move (`advice` says what to do instead)."""
    if len(history) < 2:
        return
    if admitted_at is not None and admitted_at > history[1].started_at:
        raise RuleViolation(f"{_move_of(history, 1)}: an admission after that {advice}", field="admitted_at")
    if discharged_at is not None and discharged_at < history[-1].started_at:
        raise RuleViolation(
            f"{_move_of(history, len(history) - 1)}: a discharge before that {advice}", field="discharged_at"
        )


def move_ends(
    history: list[StayLocation], *, admitted_at: datetime, discharged_at: datetime | None, now: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start the first row at `admitted_at` and end the last at `discharged_at` (checked with
    `refuse_crossing` first). Returns what changed, (before, after), for the audit record."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if not history:
        return before, after
    first, last = history[0], history[-1]
    if first.started_at != admitted_at:
        before["ward_history_started_at"] = first.started_at.isoformat()
        after["ward_history_started_at"] = admitted_at.isoformat()
        first.started_at = admitted_at
        first.updated_at = now
    if last.ended_at != discharged_at:
        before["ward_history_ended_at"] = last.ended_at.isoformat() if last.ended_at else None
        after["ward_history_ended_at"] = discharged_at.isoformat() if discharged_at else None
        last.ended_at = discharged_at
        last.updated_at = now
    return before, after
