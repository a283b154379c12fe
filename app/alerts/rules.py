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

from app.core.clock import london_date
from app.escalations.ladder import ROLE_LEVEL, short_duration
from app.models import Action, Escalation, EscalationLevel, Referral, Stay, User


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

# A referral with no decision this many days after it was sent is chased. The referrals work will
# give each service its own target; until then one target for all.
REFERRAL_DECISION_DAYS = 2


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
    label="Referrals waiting for a decision",
    hint=f"A referral your role made has no decision {REFERRAL_DECISION_DAYS} days after it was sent.",
)
def referrals_waiting(session: Session, now: datetime) -> Iterable[Due]:
    cutoff = london_date(now) - timedelta(days=REFERRAL_DECISION_DAYS)
    rows = session.exec(
        select(Referral, Stay.ward_id, User.role_code)
        .join(Stay, col(Stay.id) == Referral.stay_id)
        .join(User, col(User.id) == Referral.created_by_id)
        .where(col(Referral.decision_on).is_(None), col(Referral.sent_on) <= cutoff, col(Stay.discharged_at).is_(None))
    ).all()
    today = london_date(now)
    for referral, ward_id, role in rows:
        yield Due(
            subject=f"referral:{referral.id}",
            ward_id=ward_id,
            stay_id=referral.stay_id,
            roles=frozenset({role}),
            title=f"Referral waiting {(today - referral.sent_on).days} days for a decision",
            link_route="discharge_plan",
            link_params={"stay_id": referral.stay_id},
        )
