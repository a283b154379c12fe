"""Optimistic concurrency: a stale write is refused with the current state and who changed it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session, SQLModel

from app.audit.service import last_change
from app.core.errors import StaleVersion


def check_version(
    session: Session,
    entity: SQLModel,
    expected: int,
    present: Callable[[], Any],
) -> None:
    """Raise StaleVersion with the current state and who changed it last."""
    current = entity.version  # type: ignore[attr-defined]
    if current == expected:
        return
    event = last_change(session, type(entity).__tablename__, entity.id)  # type: ignore[attr-defined]
    changed_by = (
        {"name": event.actor_name, "role": event.actor_role, "at": event.occurred_at.isoformat()} if event else None
    )
    raise StaleVersion(
        f"Someone else changed this record (now version {current}, you had {expected})"
        + (f": {event.actor_name} at {event.occurred_at:%H:%M}" if event else ""),
        detail={"current": present(), "changed_by": changed_by},
    )
