"""Failed planned discharges with coded causes (one primary)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from app.audit import crud
from app.audit import service as audit
from app.core.errors import NotFound, RuleViolation
from app.core.principal import Principal
from app.discharges.schemas import (
    FailedDischargeCreate,
    FailedDischargePublic,
    FailedDischargeUpdate,
)
from app.models import FailedDischarge, FailedDischargeCause, FailedDischargeReason, StaffRole, Stay


def causes_for(session: Session, ids: list[int]) -> dict[int, list[FailedDischargeCause]]:
    out: dict[int, list[FailedDischargeCause]] = {i: [] for i in ids}
    if ids:
        for cause in session.exec(
            select(FailedDischargeCause).where(col(FailedDischargeCause.failed_discharge_id).in_(ids))
        ):
            out[cause.failed_discharge_id].append(cause)
    return out


def present(fd: FailedDischarge, causes: list[FailedDischargeCause]) -> dict:
    primary = next((c.reason_code for c in causes if c.is_primary), None)
    return (
        FailedDischargePublic.model_validate(fd)
        .model_copy(update={"causes": sorted(c.reason_code for c in causes), "primary_cause": primary})
        .model_dump(mode="json")
    )


def log_failed_discharge(
    session: Session,
    *,
    actor: Principal,
    stay: Stay,
    data: FailedDischargeCreate,
    now: datetime,
) -> tuple[FailedDischarge, list[FailedDischargeCause]]:
    codes = sorted(set(data.causes))
    known = set(session.exec(select(FailedDischargeReason.code).where(col(FailedDischargeReason.code).in_(codes))))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise RuleViolation(f"Unknown causes: {', '.join(unknown)}", field="causes")
    if data.follow_up_owner_role_code and session.get(StaffRole, data.follow_up_owner_role_code) is None:
        raise RuleViolation("Unknown role", field="follow_up_owner_role_code")
    if data.planned_for < stay.admitted_at:
        raise RuleViolation("Planned discharge cannot be before admission", field="planned_for")
    fd = FailedDischarge(
        stay_id=stay.id,
        planned_for=data.planned_for,
        detail=data.detail,
        avoidable=data.avoidable,
        logged_by_id=actor.user_id,
        logged_at=now,
        follow_up_owner_role_code=data.follow_up_owner_role_code,
        follow_up_due_at=data.follow_up_due_at,
        created_at=now,
        updated_at=now,
    )
    session.add(fd)
    session.flush()
    causes = [
        FailedDischargeCause(failed_discharge_id=fd.id, reason_code=code, is_primary=code == data.primary_cause)
        for code in codes
    ]
    session.add_all(causes)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity=fd,
        at=now,
        after=audit.snapshot(fd, causes=codes, primary_cause=data.primary_cause),
        ward_id=stay.ward_id,
        patient_id=stay.patient_id,
    )
    return fd, causes


def update_failed_discharge(
    session: Session,
    *,
    actor: Principal,
    fd: FailedDischarge,
    stay: Stay,
    data: FailedDischargeUpdate,
    expected_version: int,
    now: datetime,
) -> FailedDischarge:
    changes = data.model_dump(exclude_unset=True, exclude={"version", "follow_up_done"})
    if (
        changes.get("follow_up_owner_role_code")
        and session.get(StaffRole, changes["follow_up_owner_role_code"]) is None
    ):
        raise RuleViolation("Unknown role", field="follow_up_owner_role_code")
    if data.follow_up_done is True and fd.follow_up_done_at is None:
        changes["follow_up_done_at"] = now
    elif data.follow_up_done is False:
        changes["follow_up_done_at"] = None
    causes = causes_for(session, [fd.id])[fd.id]  # type: ignore[index]
    crud.update(
        session,
        actor=actor,
        row=fd,
        changes=changes,
        expected_version=expected_version,
        now=now,
        ward_id=stay.ward_id,
        patient_id=stay.patient_id,
        present=lambda: present(fd, causes),
    )
    return fd


def failed_discharge_or_404(session: Session, stay: Stay, fd_id: int) -> FailedDischarge:
    fd = session.get(FailedDischarge, fd_id)
    if fd is None or fd.stay_id != stay.id:
        raise NotFound("No such failed discharge")
    return fd
