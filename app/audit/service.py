"""Write audit events in the caller's session, so a change and its record commit together."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect
from sqlmodel import Session, SQLModel, desc, select

from app.core import changes
from app.core.principal import Principal
from app.models import AuditEvent
from app.models.base import table_of

# Never copied into audit snapshots: secrets are not history.
_SECRET_FIELDS = {"password_hash", "token_hash"}


def json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple | set | frozenset):
        return [json_value(v) for v in value]
    return value


def snapshot(obj: SQLModel, **extra: Any) -> dict[str, Any]:
    """Column values of a row as JSON-safe data, plus any extra facts (e.g. criteria codes)."""
    state = inspect(obj)
    data = {
        attr.key: json_value(getattr(obj, attr.key))
        for attr in state.mapper.column_attrs
        if attr.key not in _SECRET_FIELDS
    }
    data.update({k: json_value(v) for k, v in extra.items()})
    return data


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys that differ (bookkeeping columns left out), for compact update events."""
    skip = {"updated_at", "version"}
    keys = [k for k in after if k not in skip and before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record(
    session: Session,
    *,
    actor: Principal | None,
    action: str,
    entity: SQLModel | None = None,
    entity_type: str | None = None,
    entity_id: Any = None,
    at: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ward_id: int | None = None,
    patient_id: int | None = None,
    actor_name: str | None = None,
    notice: str = "stay",
) -> AuditEvent:
    """`notice`: the kind of change notice for open screens (app/core/changes.py); alerts say
    `changes.ALERT`, which moves header counts and changes no board."""
    if entity is not None:
        entity_type = entity_type or table_of(type(entity)).name
        if entity_id is None:
            entity_id = getattr(entity, "id", None)
    event = AuditEvent(
        occurred_at=at,
        actor_id=actor.user_id if actor else None,
        actor_name=actor.display_name if actor else (actor_name or "system"),
        actor_role=actor.role if actor else "",
        action=action,
        entity_type=entity_type or "",
        entity_id="" if entity_id is None else str(entity_id),
        ward_id=ward_id,
        patient_id=patient_id,
        before=before,
        after=after,
    )
    session.add(event)
    # Open boards of this ward refresh themselves after the commit.
    changes.note(session, ward_id=ward_id, stay_id=_stay_id(entity_type, entity_id, after, before), kind=notice)
    return event


def _stay_id(entity_type: str | None, entity_id: Any, after: dict | None, before: dict | None) -> int | None:
    if entity_type == "stay" and entity_id not in (None, ""):
        return int(entity_id)
    for data in (after, before):
        if data and isinstance(data.get("stay_id"), int):
            return data["stay_id"]
    return None


def record_change(
    session: Session,
    *,
    actor: Principal | None,
    action: str,
    entity: SQLModel,
    before: dict[str, Any],
    at: datetime,
    ward_id: int | None,
    patient_id: int | None,
    extra: dict[str, Any] | None = None,
    only_if_changed: bool = False,
    actor_name: str | None = None,
) -> AuditEvent | None:
    """Audit an update: the fields that differ between `before` (a snapshot) and the row now."""
    old, new = changed(before, snapshot(entity))
    if only_if_changed and not new:
        return None
    return record(
        session,
        actor=actor,
        action=action,
        entity=entity,
        at=at,
        before=old,
        after=new | (extra or {}),
        ward_id=ward_id,
        patient_id=patient_id,
        actor_name=actor_name,
    )


def last_change(session: Session, entity_type: str, entity_id: Any) -> AuditEvent | None:
    """The latest audit event for one entity: tells a conflicting user who changed it."""
    return session.exec(
        select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
        .order_by(desc(AuditEvent.id))
        .limit(1)
    ).first()
