"""Optimistic concurrency: a stale write is refused with the current state and who changed it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from app.audit.service import last_change
from app.core.errors import StaleVersion
from app.models.base import Versioned, table_of


def check_version(
    session: Session,
    entity: Versioned,
    expected: int,
    present: Callable[[], Any],
) -> None:
    """Raise StaleVersion with the current state and who changed it last."""
    current = entity.version
    if current == expected:
        return
    event = last_change(session, table_of(type(entity)).name, getattr(entity, "id", None))
    changed_by = (
        {"name": event.actor_name, "role": event.actor_role, "at": event.occurred_at.isoformat()} if event else None
    )
    raise StaleVersion(
        f"Someone else changed this record (now version {current}, you had {expected})"
        + (f": {event.actor_name} at {event.occurred_at:%H:%M}" if event else ""),
        detail={"current": present(), "changed_by": changed_by},
    )
