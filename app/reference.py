"""Reference labels for screens, cached briefly: the lists change only through migrations."""

from __future__ import annotations

import time
from threading import Lock

from sqlmodel import Session, SQLModel, select

from app.models import (
    BedClosureReason,
    BedState,
    Criterion,
    DelayReason,
    DelayReasonFamily,
    DischargeDestination,
    FailedDischargeReason,
    Pathway,
    RedDayReason,
    ReferralService,
    StaffRole,
)

TTL_SECONDS = 300
_cache: dict[str, tuple[float, list[SQLModel]]] = {}
_lock = Lock()

MODELS: dict[str, type[SQLModel]] = {
    "criteria": Criterion,
    "delay_reasons": DelayReason,
    "families": DelayReasonFamily,
    "red_day_reasons": RedDayReason,
    "pathways": Pathway,
    "roles": StaffRole,
    "destinations": DischargeDestination,
    "failed_discharge_reasons": FailedDischargeReason,
    "referral_services": ReferralService,
    "bed_states": BedState,
    "bed_closure_reasons": BedClosureReason,
}


def rows(session: Session, name: str) -> list:
    now = time.monotonic()
    with _lock:
        cached = _cache.get(name)
        if cached and now - cached[0] < TTL_SECONDS:
            return cached[1]
    model = MODELS[name]
    found = list(session.exec(select(model).where(model.active).order_by(model.sort_order)))  # type: ignore[attr-defined]
    for row in found:
        session.expunge(row)
    with _lock:
        _cache[name] = (now, found)
    return found


def labels(session: Session, name: str) -> dict:
    return {row.code: row.label for row in rows(session, name)}
