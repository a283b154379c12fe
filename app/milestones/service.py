"""Discharge milestones: made when a stay's pathway is set, changed one at a time, read for the
board, the round step, the red-day rule and alerts. Audited; no commit (routes commit).

For other domains:
- `sync_for_pathway(session, actor=, stay=, now=)`: call after a current stay's pathway is set
  or changed (admission, stay update, daily review). Adds the pathway's missing milestones; ones
  not started that no longer apply become not needed.
- `overdue_milestones(session, stay_id, now)`: the stay's open milestones whose due time has
  passed (the red-day rule: an overdue milestone makes today red).
- `overdue_on_wards(session, now, ward_ids=None)`: every open overdue milestone of current stays,
  with its ward and owner role (alerts).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.audit import crud
from app.core import codes
from app.core.clock import london_date
from app.core.errors import Conflict, NotFound, RuleViolation
from app.core.principal import Principal
from app.milestones import rules
from app.milestones.schemas import MilestonePublic, MilestoneUpdate
from app.models import DischargeMilestone, MilestoneType, StaffRole, Stay


class OverdueMilestone(NamedTuple):
    milestone_id: int
    stay_id: int
    ward_id: int
    type_code: str
    owner_role_code: str
    due_at: datetime


def _types(session: Session) -> list[MilestoneType]:
    return list(
        session.exec(select(MilestoneType).where(col(MilestoneType.active)).order_by(col(MilestoneType.sort_order)))
    )


def milestones_for_stay(session: Session, stay_id: int) -> list[DischargeMilestone]:
    """A stay's milestones in the order of the reference list, then by id."""
    rows = list(session.exec(select(DischargeMilestone).where(DischargeMilestone.stay_id == stay_id)))
    order = {t.code: t.sort_order for t in session.exec(select(MilestoneType))}
    return sorted(rows, key=lambda m: (order.get(m.type_code, 0), m.id))


def sync_for_pathway(session: Session, *, actor: Principal | None, stay: Stay, now: datetime) -> None:
    if stay.discharged_at is not None or stay.pathway is None:
        return
    have = {m.type_code: m for m in milestones_for_stay(session, stay.id)}
    today = london_date(now)
    for kind in _types(session):
        mine = have.get(kind.code)
        if rules.applies(kind.pathways, stay.pathway):
            if mine is None:
                due = rules.due_at(
                    edd=stay.expected_discharge_date,
                    today=today,
                    days_before_edd=kind.due_days_before_edd,
                    hour=kind.due_hour,
                    now=now,
                )
                row = DischargeMilestone(
                    stay_id=stay.id,
                    type_code=kind.code,
                    owner_role_code=kind.owner_role_code,
                    due_at=due,
                    updated_by_id=actor.user_id if actor else None,
                    created_at=now,
                    updated_at=now,
                )
                crud.create(session, actor=actor, row=row, now=now, ward_id=stay.ward_id, patient_id=stay.patient_id)
        elif mine is not None and mine.status == codes.MILESTONE_NOT_STARTED:
            crud.update(
                session,
                actor=actor,
                row=mine,
                changes={"status": codes.MILESTONE_NOT_NEEDED, "updated_by_id": actor.user_id if actor else None},
                expected_version=mine.version,
                now=now,
                ward_id=stay.ward_id,
                patient_id=stay.patient_id,
                present=lambda: None,
                action="pathway_changed",
            )


def milestone_or_404(session: Session, stay: Stay, milestone_id: int) -> DischargeMilestone:
    row = session.get(DischargeMilestone, milestone_id)
    if row is None or row.stay_id != stay.id:
        raise NotFound("No such milestone")
    return row


def present(session: Session, row: DischargeMilestone, now: datetime) -> MilestonePublic:
    kind = session.get(MilestoneType, row.type_code)
    return MilestonePublic(
        id=row.id,
        stay_id=row.stay_id,
        type_code=row.type_code,
        label=kind.label if kind else row.type_code,
        owner_role_code=row.owner_role_code,
        due_at=row.due_at,
        status=row.status,
        done_at=row.done_at,
        rag=rules.rag(row.status, row.due_at, now),
        version=row.version,
        updated_at=row.updated_at,
    )


def update_milestone(
    session: Session,
    *,
    actor: Principal,
    stay: Stay,
    milestone: DischargeMilestone,
    data: MilestoneUpdate,
    expected_version: int,
    now: datetime,
) -> DischargeMilestone:
    if stay.discharged_at is not None:
        raise Conflict("This stay has ended", field="stay")
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    if "status" in changes:
        if changes["status"] not in codes.MILESTONE_STATUSES:
            raise RuleViolation("Choose a status from the list", field="status")
        if changes["status"] == codes.MILESTONE_DONE and milestone.done_at is None:
            changes["done_at"] = now
        elif changes["status"] != codes.MILESTONE_DONE:
            changes["done_at"] = None
    if "owner_role_code" in changes and session.get(StaffRole, changes["owner_role_code"]) is None:
        raise RuleViolation("Unknown role", field="owner_role_code")
    changes["updated_by_id"] = actor.user_id
    crud.update(
        session,
        actor=actor,
        row=milestone,
        changes=changes,
        expected_version=expected_version,
        now=now,
        ward_id=stay.ward_id,
        patient_id=stay.patient_id,
        present=lambda: present(session, milestone, now).model_dump(mode="json"),
    )
    return milestone


def rag_by_stay(session: Session, stay_ids: Collection[int], now: datetime) -> dict[int, dict[str, int]]:
    """For the board: per stay, how many of its milestones are red, amber, green and complete."""
    counts: dict[int, dict[str, int]] = {}
    if not stay_ids:
        return counts
    found = session.exec(
        select(DischargeMilestone.stay_id, DischargeMilestone.status, DischargeMilestone.due_at).where(
            col(DischargeMilestone.stay_id).in_(stay_ids)
        )
    )
    for stay_id, status, due in found:
        state = rules.rag(status, due, now)
        mine = counts.setdefault(
            stay_id, {codes.RAG_RED: 0, codes.RAG_AMBER: 0, codes.RAG_GREEN: 0, codes.RAG_COMPLETE: 0}
        )
        mine[state] += 1
    return counts


def overdue_milestones(session: Session, stay_id: int, now: datetime) -> list[DischargeMilestone]:
    """The stay's open milestones (not started or in progress) whose due time has come."""
    return list(
        session.exec(
            select(DischargeMilestone)
            .where(
                DischargeMilestone.stay_id == stay_id,
                col(DischargeMilestone.status).in_(codes.MILESTONE_OPEN),
                col(DischargeMilestone.due_at) <= now,
            )
            .order_by(col(DischargeMilestone.due_at))
        )
    )


def overdue_on_wards(
    session: Session, now: datetime, ward_ids: Collection[int] | None = None
) -> list[OverdueMilestone]:
    """Open overdue milestones of current stays, oldest due first; `ward_ids` None: every ward."""
    query = (
        sa_select(
            col(DischargeMilestone.id),
            col(DischargeMilestone.stay_id),
            col(Stay.ward_id),
            col(DischargeMilestone.type_code),
            col(DischargeMilestone.owner_role_code),
            col(DischargeMilestone.due_at),
        )
        .join(Stay, col(Stay.id) == DischargeMilestone.stay_id)
        .where(
            col(Stay.discharged_at).is_(None),
            col(DischargeMilestone.status).in_(codes.MILESTONE_OPEN),
            col(DischargeMilestone.due_at) <= now,
        )
        .order_by(col(DischargeMilestone.due_at), col(DischargeMilestone.id))
    )
    if ward_ids is not None:
        query = query.where(col(Stay.ward_id).in_(ward_ids or {-1}))
    return [OverdueMilestone(*row) for row in session.execute(query)]
