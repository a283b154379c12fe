"""Work waiting on the demo's first morning, so every role signs in to something to do.

Called once at the end of `build_demo`, after the history is replayed. On every ward, through the
real services and in time order: open escalations at each rung of the ladder (some past their
response target, some not), referrals awaiting a decision (one waiting for days, one sent
today), actions overdue for each role at the round, and then the alert check, which tells the
owners of everything overdue: unread alerts for the ward manager, the flow coordinator, each
ward's sponsor, nurses, doctors, therapists and social workers.

No randomness: the same hospital gets the same work.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from app.actions.schemas import ActionCreate
from app.actions.service import create_action
from app.alerts.service import create_due_alerts
from app.auth.deps import principal_for
from app.core.principal import Principal
from app.demo import data
from app.escalations import service as escalations
from app.escalations.schemas import EscalationCreate, EscalationStep, StepAction
from app.models import Escalation, StaffRole, Stay, User, UserWard, Ward
from app.stays.referrals import add_referral
from app.stays.schemas import ReferralCreate

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
FAMILIES = sorted(data.ESCALATION_HELP)

# (level it ends at, raised this long ago, at that level since this long ago or None for level 1).
# Response targets (reference data): 2 h at the ward, 4 h for the flow team, 8 h for the sponsor.
LADDER: tuple[tuple[int, timedelta, timedelta | None], ...] = (
    (1, 3 * HOUR, None),  # past its 2 h target
    (1, 40 * timedelta(minutes=1), None),  # within it
    (2, 30 * HOUR, 6 * HOUR),  # past 4 h
    (3, 3 * DAY, 10 * HOUR),  # past 8 h
    (3, 2 * DAY, 2 * HOUR),  # within it
)
# Overdue actions, one per role that owns actions at the round: (role, due this long ago).
ACTIONS = (
    ("nurse", 2 * HOUR, "Book hospital transport for discharge"),
    ("doctor", HOUR, "Complete the discharge summary and TTOs"),
    ("therapist", 3 * HOUR, "Home access visit: report back to the team"),
    ("social_worker", HOUR, "Confirm the package of care start date"),
)
NOTES = {2: "No progress at ward level: need the site flow team", 3: "Risk of a very long stay: needs a decision"}


@dataclass
class Work:
    escalations: int = 0
    referrals: int = 0
    actions: int = 0
    alerts: int = 0


def _staff(session: Session) -> tuple[dict[int, dict[str, Principal]], Principal | None]:
    """Per ward, one person of each role assigned to it (a demo sign-in first); the flow coordinator."""
    site_wide = set(session.exec(select(StaffRole.code).where(StaffRole.site_wide)))
    rows = session.exec(
        select(User, UserWard.ward_id)
        .join(UserWard, col(UserWard.user_id) == User.id)
        .where(User.is_active, col(User.is_service_account).is_(False))
        .order_by(col(User.password_hash).is_(None), col(User.id))
    ).all()
    staff: dict[int, dict[str, Principal]] = defaultdict(dict)
    principals: dict[int, Principal] = {}
    for user, ward_id in rows:
        if user.role_code not in staff[ward_id]:
            principals.setdefault(user.id, principal_for(session, user))
            staff[ward_id][user.role_code] = principals[user.id]
    flow_user = session.exec(
        select(User).where(col(User.role_code).in_(site_wide or {"-"}), User.role_code == "flow_coordinator")
        .order_by(col(User.password_hash).is_(None), col(User.id))
    ).first()  # fmt: skip
    return staff, principal_for(session, flow_user) if flow_user else None


def _free_stays(session: Session, ward: Ward, before: datetime) -> list[Stay]:
    """Stays in a bed on the ward, there since before `before`, with no escalation open: longest first."""
    open_stays = select(Escalation.stay_id).where(Escalation.status != "resolved")
    return list(
        session.exec(
            select(Stay)
            .where(
                Stay.ward_id == ward.id,
                col(Stay.discharged_at).is_(None),
                col(Stay.bed_id).is_not(None),
                col(Stay.admitted_at) < before,
                col(Stay.id).not_in(open_stays),
            )
            .order_by(col(Stay.admitted_at), col(Stay.id))
        )
    )


def leave_work(session: Session, *, now: datetime) -> Work:
    work = Work()
    staff, flow = _staff(session)
    wards = list(session.exec(select(Ward).where(Ward.is_active).order_by(col(Ward.code))))
    for n, ward in enumerate(wards):
        people = staff.get(ward.id, {})
        raiser = people.get("nurse") or people.get("ward_manager")
        if raiser is None:
            continue
        waiting = _free_stays(session, ward, now)

        def take(before: datetime, waiting: list[Stay] = waiting) -> Stay | None:
            """The most recent stay left that was there by `before` (older ones for older work)."""
            there = [i for i, stay in enumerate(waiting) if stay.admitted_at < before]
            return waiting.pop(there[-1]) if there else None

        by_level = {1: people.get("ward_manager"), 2: flow, 3: people.get("executive_sponsor")}
        for k, (level, raised_ago, at_level_ago) in enumerate(LADDER):
            raised = now - raised_ago
            if any(by_level[lv] is None for lv in range(1, level)):
                continue
            stay = take(raised - HOUR)
            if stay is None:
                continue
            family = FAMILIES[(n + k) % len(FAMILIES)]
            esc = escalations.raise_escalation(
                session,
                actor=raiser,
                stay=stay,
                data=EscalationCreate(category_code=family, help_needed=data.ESCALATION_HELP[family]),
                now=raised,
            )
            work.escalations += 1
            if level == 1 or at_level_ago is None:
                continue
            # Up the ladder, each rung acknowledging, then escalating; the last at `at_level_ago`.
            steps: list[tuple[datetime, int, StepAction, str]] = []
            top = now - at_level_ago
            span = (top - raised) / (2 * (level - 1))
            t = raised
            for rung in range(1, level):
                t += span
                steps.append((t, rung, "acknowledge", ""))
                t = top if rung == level - 1 else t + span
                steps.append((t, rung, "escalate", NOTES[rung + 1]))
            for when, rung, action, note in steps:
                actor = by_level[rung]
                assert actor is not None
                escalations.step_escalation(
                    session,
                    actor=actor,
                    esc=esc,
                    stay=stay,
                    step=EscalationStep(action=action, note=note),
                    expected_version=esc.version,
                    now=when,
                )
        social = people.get("social_worker") or raiser
        for days_ago in (3, 0):
            stay = take(now - days_ago * DAY - 2 * HOUR)
            if stay is None:
                continue
            add_referral(
                session,
                actor=social,
                stay=stay,
                data=ReferralCreate(service_code="social_care", sent_at=now - days_ago * DAY - HOUR),
                now=now - days_ago * DAY - HOUR,
            )
            work.referrals += 1
        stay = take(now - DAY)
        for role, overdue_by, description in ACTIONS:
            if stay is None:
                break
            create_action(
                session,
                actor=raiser,
                stay=stay,
                data=ActionCreate(description=description, owner_role_code=role, due_at=now - overdue_by),
                now=now - overdue_by - 4 * HOUR,
            )
            work.actions += 1
    session.flush()
    work.alerts = len(create_due_alerts(session, now=now))
    return work
