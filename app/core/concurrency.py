"""Optimistic concurrency: compare the version the client saw with the current one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session, SQLModel

from app.audit.service import last_change
from app.core.errors import PreconditionRequired, StaleVersion
from app.core.types import form_id


def parse_if_match(header: str | None) -> int | None:
    """Accept `"3"`, `W/"3"` or `3`; anything else is treated as absent."""
    if not header:
        return None
    return form_id(header.strip().removeprefix("W/").strip('"'))


def expected_version(if_match: str | None, body_version: int | None) -> int:
    version = parse_if_match(if_match) or body_version
    if version is None:
        raise PreconditionRequired(
            "Send the version you last saw (If-Match header or `version` field), so that "
            "nobody's change is overwritten without them knowing",
            field="version",
        )
    return version


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
