"""Alert rules, in a registry: what is overdue, on which ward, and which role is told.

A rule is a function `find(session, now) -> Iterable[Due]` registered with `@rule(...)`. It reads
the database and yields one `Due` per thing that needs someone now; the runner
(app/alerts/service.py) finds the people with those roles on the ward, honours their
preferences, and creates each alert once: `(rule code, subject, recipient)` is unique, so a
subject must name the same thing on every run (and change when the thing is overdue afresh:
an escalation at a new level, an action given a new due time).

Adding a rule (discharge milestones, referral targets per service) is a function here or in a
module imported by `app/alerts/__init__` users: see docs/alerts.md, "Adding a rule". Titles carry
no patient details: the runner puts the ward, bed and initials in front.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app.escalations.ladder import ROLE_LEVEL, short_duration
from app.milestones.service import overdue_on_wards
from app.models import Action, Escalation, EscalationLevel, Referral, Stay, User
from app.stays.referrals import waiting_past_target


@dataclass(frozen=True)
class Due:
    """One thing that needs someone now."""

    subject: str  # stable across runs, at most 80 characters: "escalation:12:level:2"
    ward_id: int
    stay_id: int | None
    roles: frozenset[str]  # who on the ward is told (staff role codes)
    title: str  # no patient details: "Escalation waiting past its 30 min response target"
    link_route: str  # a page route name, and its path parameters
    link_params: dict[str, Any] = field(default_factory=dict)


Finder = Callable[[Session, datetime], Iterable[Due]]


@dataclass(frozen=True)
class Rule:
    code: str  # stable: stored on every alert and in people's preferences
    label: str  # the preferences page
    hint: str
    find: Finder


RULES: dict[str, Rule] = {}


def rule(code: str, *, label: str, hint: str) -> Callable[[Finder], Finder]:
    """Register `find` as the rule `code` (at most 40 characters, never renamed once used)."""

    def register(find: Finder) -> Finder:
        if code in RULES:
            raise ValueError(f"alert rule {code!r} registered twice")
        if len(code) > 40:
            raise ValueError(f"alert rule code {code!r} is longer than 40 characters")
        RULES[code] = Rule(code=code, label=label, hint=hint, find=find)
        return find

    return register


# Who answers at each rung of the escalation ladder.
LEVEL_ROLE = {level: role for role, level in ROLE_LEVEL.items()}


@rule(
    "escalation_response",
    label="Escalations past their response target",
    hint="An escalation at your rung of the ladder is not acknowledged within its level's response time.",
)
def escalations_past_target(session: Session, now: datetime) -> Iterable[Due]:
    rows = session.exec(
        select(Escalation, EscalationLevel.response_target_minutes, Stay.ward_id)
        .join(EscalationLevel, col(EscalationLevel.code) == Escalation.level)
        .join(Stay, col(Stay.id) == Escalation.stay_id)
        .where(Escalation.status == "open", col(Stay.discharged_at).is_(None))
    ).all()
    for esc, target, ward_id in rows:
        if now - esc.level_since <= timedelta(minutes=target):
            continue
        role = LEVEL_ROLE.get(esc.level)
        if role is None:
            continue
        yield Due(
            subject=f"escalation:{esc.id}:level:{esc.level}",
            ward_id=ward_id,
            stay_id=esc.stay_id,
            roles=frozenset({role}),
            title=f"Escalation at level {esc.level} not acknowledged within {short_duration(timedelta(minutes=target))}",
            link_route="show_escalation",
            link_params={"esc_id": esc.id},
        )


@rule(
    "action_overdue",
    label="Actions overdue",
    hint="An action owned by your role on your ward passes its due time without being done.",
)
def actions_overdue(session: Session, now: datetime) -> Iterable[Due]:
    rows = session.exec(
        select(Action, Stay.ward_id)
        .join(Stay, col(Stay.id) == Action.stay_id)
        .where(
            col(Action.done_at).is_(None),
            col(Action.due_at).is_not(None),
            col(Action.due_at) < now,
            col(Stay.discharged_at).is_(None),
        )
    ).all()
    for action, ward_id in rows:
        assert action.due_at is not None  # the query says so
        yield Due(
            subject=f"action:{action.id}:due:{action.due_at:%Y%m%dT%H%M}",
            ward_id=ward_id,
            stay_id=action.stay_id,
            roles=frozenset({action.owner_role_code}),
            title="Action overdue",
            link_route="discharge_plan",
            link_params={"stay_id": action.stay_id},
        )


@rule(
    "referral_waiting",
    label="Referrals past their decision target",
    hint="A referral your role made has no decision within the target time of the service it went to.",
)
def referrals_waiting(session: Session, now: datetime) -> Iterable[Due]:
    waiting = waiting_past_target(session, now)
    makers = dict(
        session.exec(
            select(Referral.id, User.role_code)
            .join(User, col(User.id) == Referral.created_by_id)
            .where(col(Referral.id).in_([w.referral_id for w in waiting] or [-1]))
        ).all()
    )
    for w in waiting:
        role = makers.get(w.referral_id)
        if role is None:
            continue
        yield Due(
            subject=f"referral:{w.referral_id}",
            ward_id=w.ward_id,
            stay_id=w.stay_id,
            roles=frozenset({role}),
            title=f"Referral waiting {short_duration(now - w.sent_at)} for a decision",
            link_route="discharge_plan",
            link_params={"stay_id": w.stay_id},
        )


@rule(
    "milestone_overdue",
    label="Discharge milestones overdue",
    hint="A discharge milestone owned by your role on your ward passes its due time without being done.",
)
def milestones_overdue(session: Session, now: datetime) -> Iterable[Due]:
    for m in overdue_on_wards(session, now):
        yield Due(
            subject=f"milestone:{m.milestone_id}:due:{m.due_at:%Y%m%dT%H%M}",
            ward_id=m.ward_id,
            stay_id=m.stay_id,
            roles=frozenset({m.owner_role_code}),
            title="Discharge milestone overdue",
            link_route="discharge_plan",
            link_params={"stay_id": m.stay_id},
        )
