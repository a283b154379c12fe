"""Reference lists, read-only over the API (codes and labels for clients' pickers)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from sqlmodel import select

from app.auth.deps import CurrentPrincipal
from app.db import SessionDep
from app.models import (
    BedClosureReason,
    BedState,
    Criterion,
    DelayReason,
    DelayReasonFamily,
    DischargeDestination,
    EscalationLevel,
    FailedDischargeReason,
    Pathway,
    RedDayReason,
    ReferralService,
    StaffRole,
)
from app.web.idempotency import IdempotentRoute

router = APIRouter(prefix="/reference", tags=["reference"], route_class=IdempotentRoute)

LISTS = {
    "criteria": Criterion,
    "delay-reasons": DelayReason,
    "delay-reason-families": DelayReasonFamily,
    "failed-discharge-reasons": FailedDischargeReason,
    "red-day-reasons": RedDayReason,
    "pathways": Pathway,
    "roles": StaffRole,
    "discharge-destinations": DischargeDestination,
    "escalation-levels": EscalationLevel,
    "referral-services": ReferralService,
    "bed-states": BedState,
    "bed-closure-reasons": BedClosureReason,
}


@router.get("/{name}")
def reference_list(
    name: Literal[
        "criteria",
        "delay-reasons",
        "delay-reason-families",
        "failed-discharge-reasons",
        "red-day-reasons",
        "pathways",
        "roles",
        "discharge-destinations",
        "escalation-levels",
        "referral-services",
        "bed-states",
        "bed-closure-reasons",
    ],
    session: SessionDep,
    _: CurrentPrincipal,
) -> list[dict]:
    model = LISTS[name]
    return [row.model_dump() for row in session.exec(select(model).order_by(model.sort_order))]
