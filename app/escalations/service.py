"""Escalation ladder: ward manager (1), site flow team (2), executive sponsor (3).

Every step adds an event to the escalation's timeline; nothing is deleted.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from app.audit import service as audit
from app.audit.versions import check_version
from app.core.errors import Conflict, Forbidden, RuleViolation
from app.core.principal import Principal
from app.escalations import ladder
from app.escalations.schemas import (
    EscalationCreate,
    EscalationEventPublic,
    EscalationPublic,
    EscalationStep,
)
from app.models import DelayReasonFamily, Escalation, EscalationEvent, EscalationLevel, Stay

FIRST_LEVEL = 1


def events_for(session: Session, ids: list[int]) -> dict[int, list[EscalationEvent]]:
    out: dict[int, list[EscalationEvent]] = {i: [] for i in ids}
    if ids:
        for event in session.exec(
            select(EscalationEvent).where(col(EscalationEvent.escalation_id).in_(ids)).order_by(EscalationEvent.id)
        ):
            out[event.escalation_id].append(event)
    return out


def present(esc: Escalation, events: list[EscalationEvent]) -> dict:
    return (
        EscalationPublic.model_validate(esc)
        .model_copy(update={"events": [EscalationEventPublic.model_validate(e) for e in events]})
        .model_dump(mode="json")
    )


def _event(session: Session, esc: Escalation, kind: str, note: str, actor: Principal, now: datetime) -> None:
    session.add(
        EscalationEvent(
            escalation_id=esc.id,
            kind=kind,
            level=esc.level,
            note=note,
            actor_id=actor.user_id,
            at=now,
            created_at=now,
            updated_at=now,
        )
    )


def raise_escalation(
    session: Session,
    *,
    actor: Principal,
    stay: Stay,
    data: EscalationCreate,
    now: datetime,
) -> Escalation:
    if stay.discharged_at is not None:
        raise Conflict("This stay has ended", field="stay")
    if session.get(DelayReasonFamily, data.category_code) is None:
        raise RuleViolation("Unknown category", field="category_code")
    esc = Escalation(
        stay_id=stay.id,
        category_code=data.category_code,
        help_needed=data.help_needed,
        needed_by=data.needed_by,
        level=FIRST_LEVEL,
        status="open",
        raised_by_id=actor.user_id,
        raised_at=now,
        level_since=now,
        created_at=now,
        updated_at=now,
    )
    session.add(esc)
    session.flush()
    _event(session, esc, "raised", data.help_needed, actor, now)
    audit.record(
        session,
        actor=actor,
        action="raise_escalation",
        entity=esc,
        at=now,
        after=audit.snapshot(esc),
        ward_id=stay.ward_id,
        patient_id=stay.patient_id,
    )
    return esc


def step_escalation(
    session: Session,
    *,
    actor: Principal,
    esc: Escalation,
    stay: Stay,
    step: EscalationStep,
    expected_version: int,
    now: datetime,
) -> Escalation:
    check_version(session, esc, expected_version, lambda: present(esc, events_for(session, [esc.id])[esc.id]))  # type: ignore[index]
    if esc.status == "resolved":
        raise Conflict("This escalation is already resolved", field="action")
    if not ladder.can_act(actor.role, esc.level):
        level = session.get(EscalationLevel, esc.level)
        raise Forbidden(
            f"This escalation is with the {level.label.lower() if level else 'next level'}: you cannot act on it"
        )
    before = audit.snapshot(esc)
    if step.action == "acknowledge":
        if esc.status == "acknowledged":
            raise Conflict("Already acknowledged at this level", field="action")
        esc.status = "acknowledged"
        esc.acknowledged_at = now
        esc.acknowledged_by_id = actor.user_id
    elif step.action == "escalate":
        top = session.exec(select(EscalationLevel.code).order_by(col(EscalationLevel.code).desc())).first()
        if esc.level >= (top or esc.level):
            raise RuleViolation("Already at the top of the ladder", field="action")
        if not step.note:
            raise RuleViolation("Say why this needs the next level", field="note")
        esc.level += 1
        esc.status = "open"
        esc.level_since = now
        esc.acknowledged_at = None
        esc.acknowledged_by_id = None
    elif step.action == "resolve":
        if not step.note:
            raise RuleViolation("Record the outcome", field="note")
        esc.status = "resolved"
        esc.resolved_at = now
        esc.resolved_by_id = actor.user_id
        esc.outcome = step.note
    elif not step.note:
        raise RuleViolation("Write the note", field="note")
    esc.updated_at = now
    session.flush()
    _event(
        session,
        esc,
        {"acknowledge": "acknowledged", "escalate": "escalated", "resolve": "resolved", "note": "note"}[step.action],
        step.note,
        actor,
        now,
    )
    old, new = audit.changed(before, audit.snapshot(esc))
    audit.record(
        session,
        actor=actor,
        action=f"escalation_{step.action}",
        entity=esc,
        at=now,
        before=old,
        after=new | ({"note": step.note} if step.note else {}),
        ward_id=stay.ward_id,
        patient_id=stay.patient_id,
    )
    return esc
