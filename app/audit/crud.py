"""Small shared write helpers: apply changes to a versioned row and audit them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session, SQLModel

from app.audit import service as audit
from app.audit.versions import check_version
from app.core.principal import Principal


def create(
    session: Session,
    *,
    actor: Principal | None,
    row: SQLModel,
    now: datetime,
    ward_id: int | None,
    patient_id: int | None,
    extra: dict[str, Any] | None = None,
    actor_name: str | None = None,
) -> SQLModel:
    """`actor` None with `actor_name`: the command line (`cli:<user>`), which acts as no account."""
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        actor_name=actor_name,
        action="create",
        entity=row,
        at=now,
        after=audit.snapshot(row, **(extra or {})),
        ward_id=ward_id,
        patient_id=patient_id,
    )
    return row


def update(
    session: Session,
    *,
    actor: Principal | None,
    row: SQLModel,
    changes: dict[str, Any],
    expected_version: int,
    now: datetime,
    ward_id: int | None,
    patient_id: int | None,
    present: Callable[[], Any],
    action: str = "update",
    actor_name: str | None = None,
) -> SQLModel:
    check_version(session, row, expected_version, present)
    before = audit.snapshot(row)
    for key, value in changes.items():
        setattr(row, key, value)
    if hasattr(row, "updated_at"):
        row.updated_at = now  # type: ignore[attr-defined]
    session.flush()
    audit.record_change(
        session,
        actor=actor,
        actor_name=actor_name,
        action=action,
        entity=row,
        before=before,
        at=now,
        ward_id=ward_id,
        patient_id=patient_id,
        only_if_changed=True,
    )
    return row
