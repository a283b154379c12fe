"""Bed states the flow team manages: open, closed (with a reason), awaiting cleaning, reserved.

The state now is on the bed (`state_code`, and `is_open` false exactly when closed), so the
board reads it with the bed and a change bumps the bed's version. Every stretch of time in a
state is a `BedStatePeriod` row, so time closed, awaiting cleaning or reserved can be measured
(`times`); time empty is open time with nobody in the bed, from the ward history.

A patient arriving in a bed that was awaiting cleaning or reserved opens it: the PAS feed must
never be refused because of a state kept only here, and a reservation is over once someone is in
the bed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.audit import service as audit
from app.audit.versions import check_version
from app.core.errors import Conflict, RuleViolation
from app.core.principal import Principal
from app.models import Bed, BedClosureReason, BedState, BedStatePeriod, Stay, StayLocation
from app.wards.schemas import BedPublic, BedStateChange

OTHER_REASON = "other"
ESCALATION_NOT_IN_USE = "escalation_not_in_use"
_DETAILS = ("closure_reason_code", "note", "reserved_for", "reserved_from")


def current_period(session: Session, bed_id: int) -> BedStatePeriod | None:
    return session.exec(
        select(BedStatePeriod).where(BedStatePeriod.bed_id == bed_id, col(BedStatePeriod.ended_at).is_(None))
    ).first()


def occupied(session: Session, bed_id: int) -> bool:
    found = session.exec(
        select(Stay.id).where(Stay.bed_id == bed_id, col(Stay.discharged_at).is_(None)).limit(1)
    ).first()
    return found is not None


def _details(period: BedStatePeriod | None) -> dict[str, Any]:
    if period is None:
        return {}
    return {"state_code": period.state_code} | {name: getattr(period, name) for name in _DETAILS}


def start(
    session: Session,
    *,
    bed: Bed,
    state_code: str,
    at: datetime,
    now: datetime,
    set_by_id: int | None,
    closure_reason_code: str | None = None,
    note: str = "",
    reserved_for: str = "",
    reserved_from: str = "",
) -> BedStatePeriod:
    """End the bed's current period (if any) at `at` and start one in `state_code`. No checks and
    no audit: the callers check and audit (a new bed's first period is part of its creation)."""
    current = current_period(session, bed.id) if bed.id is not None else None  # type: ignore[arg-type]
    if current is not None:
        at = max(at, current.started_at)  # a backdated change cannot rewrite the state before it
        current.ended_at = at
        current.updated_at = now
        session.flush()  # the one-current-period index sees the old row ended first
    period = BedStatePeriod(
        bed_id=bed.id,  # type: ignore[arg-type]
        state_code=state_code,
        started_at=at,
        closure_reason_code=closure_reason_code,
        note=note,
        reserved_for=reserved_for,
        reserved_from=reserved_from,
        set_by_id=set_by_id,
        created_at=now,
        updated_at=now,
    )
    session.add(period)
    bed.state_code = state_code
    bed.is_open = state_code != BedState.CLOSED
    bed.updated_at = now
    session.flush()
    return period


def _check(session: Session, bed: Bed, data: BedStateChange) -> dict[str, Any]:
    """The period's details for this change, or a RuleViolation naming the field."""
    state = session.get(BedState, data.state_code)
    if state is None or not state.active:
        raise RuleViolation("Choose a bed state: open, closed, cleaning or reserved", field="state_code")
    details: dict[str, Any] = {"closure_reason_code": None, "note": data.note, "reserved_for": "", "reserved_from": ""}
    if data.state_code == BedState.CLOSED:
        if not data.closure_reason_code:
            raise RuleViolation("Say why the bed is closed", field="closure_reason_code")
        reason = session.get(BedClosureReason, data.closure_reason_code)
        if reason is None or not reason.active:
            raise RuleViolation("Unknown reason for closing a bed", field="closure_reason_code")
        details["closure_reason_code"] = data.closure_reason_code
    elif data.closure_reason_code:
        raise RuleViolation("A reason is only given when closing a bed", field="closure_reason_code")
    if data.state_code == BedState.RESERVED:
        if not data.reserved_for:
            raise RuleViolation("Say who the bed is reserved for", field="reserved_for")
        details["reserved_for"], details["reserved_from"] = data.reserved_for, data.reserved_from
    elif data.reserved_for or data.reserved_from:
        raise RuleViolation("Who and where from are only given when reserving a bed", field="reserved_for")
    if bed.retired_at is not None:
        raise Conflict("This bed has been retired", field="bed")
    # A bed with a patient in it can be reserved for whoever comes next, but not closed or cleaned.
    if data.state_code in (BedState.CLOSED, BedState.CLEANING) and occupied(session, bed.id):  # type: ignore[arg-type]
        what = "closing" if data.state_code == BedState.CLOSED else "marking it for cleaning"
        raise Conflict(f"This bed has a patient in it: move or discharge them before {what} it", field="state_code")
    return details


def set_state(
    session: Session,
    *,
    actor: Principal,
    bed: Bed,
    data: BedStateChange,
    expected_version: int,
    now: datetime,
) -> BedStatePeriod:
    """Record the bed's new state from now. The same state with the same details changes nothing
    (returns the current period)."""
    check_version(session, bed, expected_version, lambda: BedPublic.model_validate(bed).model_dump(mode="json"))
    details = _check(session, bed, data)
    current = current_period(session, bed.id)  # type: ignore[arg-type]
    before = _details(current) or {"state_code": bed.state_code}
    if current is not None and before == {"state_code": data.state_code} | details:
        return current
    period = start(session, bed=bed, state_code=data.state_code, at=now, now=now, set_by_id=actor.user_id, **details)
    audit.record(
        session,
        actor=actor,
        action="bed_state",
        entity=bed,
        at=now,
        before=before,
        after=_details(period),
        ward_id=bed.ward_id,
    )
    return period


def on_arrival(session: Session, *, actor: Principal, bed: Bed, at: datetime, now: datetime) -> None:
    """A patient has arrived in the bed: a bed awaiting cleaning or reserved is open again."""
    if bed.state_code not in (BedState.CLEANING, BedState.RESERVED):
        return
    before = _details(current_period(session, bed.id)) or {"state_code": bed.state_code}  # type: ignore[arg-type]
    period = start(session, bed=bed, state_code=BedState.OPEN, at=min(at, now), now=now, set_by_id=actor.user_id)
    audit.record(
        session,
        actor=actor,
        action="bed_state",
        entity=bed,
        at=now,
        before=before,
        after=_details(period) | {"why": "a patient arrived in the bed"},
        ward_id=bed.ward_id,
    )


# Time in each state ---------------------------------------------------------------------------


@dataclass
class Minutes:
    occupied: int = 0
    empty: int = 0
    cleaning: int = 0
    reserved: int = 0
    closed: int = 0


Interval = tuple[datetime, datetime]


def _clip(start: datetime, end: datetime | None, window: Interval) -> Interval | None:
    lo, hi = max(start, window[0]), min(end or window[1], window[1])
    return (lo, hi) if lo < hi else None


def _union(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def _overlap(a: Interval, spans: list[Interval]) -> float:
    return sum(max(0.0, (min(a[1], hi) - max(a[0], lo)).total_seconds()) for lo, hi in spans)


def times(session: Session, beds: list[Bed], window: Interval) -> dict[int, Minutes]:
    """Per bed, minutes occupied, empty (open with nobody in it), awaiting cleaning, reserved and
    closed within `window` (two queries). Time before a bed's first recorded state counts as open."""
    ids = [b.id for b in beds]
    periods: dict[int, list[BedStatePeriod]] = {i: [] for i in ids}  # type: ignore[misc]
    for period in session.exec(
        select(BedStatePeriod)
        .where(
            col(BedStatePeriod.bed_id).in_(ids),
            BedStatePeriod.started_at < window[1],
            (col(BedStatePeriod.ended_at).is_(None)) | (col(BedStatePeriod.ended_at) > window[0]),
        )
        .order_by(BedStatePeriod.started_at)
    ):
        periods[period.bed_id].append(period)
    stays: dict[int, list[Interval]] = {i: [] for i in ids}  # type: ignore[misc]
    for bed_id, started, ended in session.exec(
        select(StayLocation.bed_id, StayLocation.started_at, StayLocation.ended_at).where(
            col(StayLocation.bed_id).in_(ids),
            StayLocation.started_at < window[1],
            (col(StayLocation.ended_at).is_(None)) | (col(StayLocation.ended_at) > window[0]),
        )
    ):
        span = _clip(started, ended, window)
        if span is not None:
            stays[bed_id].append(span)  # type: ignore[index]
    out: dict[int, Minutes] = {}
    for bed in beds:
        occupied_spans = _union(stays[bed.id])  # type: ignore[index]
        seconds = {"occupied": sum((hi - lo).total_seconds() for lo, hi in occupied_spans)}
        spans: list[tuple[str, Interval]] = []
        first = periods[bed.id][0].started_at if periods[bed.id] else None  # type: ignore[index]
        before_first = _clip(max(bed.created_at, window[0]), first, window)
        if before_first is not None:
            spans.append((BedState.OPEN, before_first))
        for period in periods[bed.id]:  # type: ignore[index]
            span = _clip(period.started_at, period.ended_at, window)
            if span is not None:
                spans.append((period.state_code, span))
        for state, span in spans:
            length = (span[1] - span[0]).total_seconds()
            if state == BedState.OPEN:
                seconds["empty"] = seconds.get("empty", 0) + length - _overlap(span, occupied_spans)
            else:
                seconds[state] = seconds.get(state, 0) + length
        known = Minutes.__dataclass_fields__
        out[bed.id] = Minutes(**{k: round(v / 60) for k, v in seconds.items() if k in known})  # type: ignore[index]
    return out
