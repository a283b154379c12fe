"""Pure rules for milestones: when one falls due, and its red/amber/green state at a moment."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from app.core import codes
from app.core.clock import london_at


def due_at(*, edd: date | None, today: date, days_before_edd: int, hour: int, now: datetime) -> datetime:
    """`hour` o'clock (Europe/London) `days_before_edd` days before the expected discharge date
    (with no EDD yet: before tomorrow), as UTC; never before `now` (a milestone made late is due
    at once, not in the past)."""
    base = edd if edd is not None else today + timedelta(days=1)
    return max(london_at(base - timedelta(days=days_before_edd), time(hour, 0)), now)


def rag(status: str, due: datetime, now: datetime) -> str:
    """codes.RAG_COMPLETE when done or not needed; otherwise red once the due time has come,
    amber within codes.MILESTONE_AMBER_HOURS of it, green before that."""
    if status not in codes.MILESTONE_OPEN:
        return codes.RAG_COMPLETE
    if now >= due:
        return codes.RAG_RED
    if due - now <= timedelta(hours=codes.MILESTONE_AMBER_HOURS):
        return codes.RAG_AMBER
    return codes.RAG_GREEN


def applies(pathways: str, pathway: int | None) -> bool:
    """Whether a milestone type (its pathways as digits, "123") applies to a stay's pathway."""
    return pathway is not None and str(pathway) in pathways
