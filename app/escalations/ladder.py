"""Who acts at which rung of the escalation ladder, and when a response is overdue.

Level 1 is the ward manager, level 2 the site flow team, level 3 the ward's executive sponsor.
A person can act at their own rung and any rung below it (a sponsor may clear a ward-level
blocker); nobody acts above their rung. Response-time targets are data (escalationlevel table).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.models import Escalation, EscalationLevel

ROLE_LEVEL = {"ward_manager": 1, "flow_coordinator": 2, "executive_sponsor": 3}


def can_act(role: str, level: int) -> bool:
    return ROLE_LEVEL.get(role, 0) >= level


@dataclass(frozen=True)
class Timing:
    age: timedelta  # since raised
    at_level: timedelta  # since it reached this level
    target_minutes: int
    breached: bool  # no acknowledgement within the level's target
    needed_by_passed: bool

    @property
    def age_text(self) -> str:
        return short_duration(self.age)


def short_duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} days"


def timing(esc: Escalation, level: EscalationLevel | None, now: datetime) -> Timing:
    target = level.response_target_minutes if level else 240
    at_level = now - esc.level_since
    waiting = esc.status == "open"
    return Timing(
        age=now - esc.raised_at,
        at_level=at_level,
        target_minutes=target,
        breached=waiting and at_level > timedelta(minutes=target),
        needed_by_passed=esc.status != "resolved" and esc.needed_by is not None and esc.needed_by < now,
    )
