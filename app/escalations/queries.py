"""Read models for the escalation ladder and one escalation's page (bounded queries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from app.core.clock import midnights_between
from app.core.principal import Principal
from app.escalations.ladder import Timing, can_act, timing
from app.models import Bed, DailyReview, Escalation, EscalationEvent, EscalationLevel, Patient, Stay, User, Ward


@dataclass
class LadderItem:
    escalation: Escalation
    stay: Stay
    patient: Patient
    ward: Ward
    bed_label: str | None
    level: EscalationLevel | None
    timing: Timing
    can_act: bool


def levels(session: Session) -> dict[int, EscalationLevel]:
    return {lv.code: lv for lv in session.exec(select(EscalationLevel).order_by(EscalationLevel.code))}


def ladder(
    session: Session,
    principal: Principal,
    now: datetime,
    *,
    resolved: bool = False,
    level: int | None = None,
    ward_id: int | None = None,
    limit: int = 200,
) -> list[LadderItem]:
    """Escalations in scope: open ones oldest first (they have waited longest); resolved newest first."""
    query = (
        select(Escalation, Stay, Patient, Ward)
        .join(Stay, col(Stay.id) == Escalation.stay_id)
        .join(Patient, col(Patient.id) == Stay.patient_id)
        .join(Ward, col(Ward.id) == Stay.ward_id)
    )
    if resolved:
        query = query.where(Escalation.status == "resolved").order_by(col(Escalation.resolved_at).desc())
    else:
        query = query.where(Escalation.status != "resolved").order_by(Escalation.raised_at)
    if level is not None:
        query = query.where(Escalation.level == level)
    if ward_id is not None:
        query = query.where(Stay.ward_id == ward_id)
    if not principal.site_wide:
        query = query.where(col(Stay.ward_id).in_(principal.ward_ids or {-1}))
    rows = session.exec(query.limit(limit)).all()
    bed_ids = {s.bed_id for _, s, _, _ in rows if s.bed_id}
    beds = {b.id: b.label for b in session.exec(select(Bed).where(col(Bed.id).in_(bed_ids)))} if bed_ids else {}
    by_level = levels(session)
    return [
        LadderItem(
            escalation=e,
            stay=s,
            patient=p,
            ward=w,
            bed_label=beds.get(s.bed_id),
            level=by_level.get(e.level),
            timing=timing(e, by_level.get(e.level), now),
            can_act=can_act(principal.role, e.level),
        )
        for e, s, p, w in rows
    ]


@dataclass
class EscalationPage:
    item: LadderItem
    events: list[tuple[EscalationEvent, str]]  # event, actor name
    reviews: list[DailyReview]
    los: int


def escalation_page(
    session: Session, principal: Principal, esc: Escalation, stay: Stay, now: datetime
) -> EscalationPage:
    patient = session.get(Patient, stay.patient_id)
    ward = session.get(Ward, stay.ward_id)
    bed = session.get(Bed, stay.bed_id) if stay.bed_id else None
    level = session.get(EscalationLevel, esc.level)
    events = session.exec(
        select(EscalationEvent, User.display_name)
        .join(User, col(User.id) == EscalationEvent.actor_id)
        .where(EscalationEvent.escalation_id == esc.id)
        .order_by(EscalationEvent.id)
    ).all()
    reviews = list(
        session.exec(
            select(DailyReview)
            .where(DailyReview.stay_id == stay.id)
            .order_by(col(DailyReview.review_date).desc())
            .limit(7)
        )
    )
    item = LadderItem(
        escalation=esc,
        stay=stay,
        patient=patient,
        ward=ward,
        bed_label=bed.label if bed else None,  # type: ignore[arg-type]
        level=level,
        timing=timing(esc, level, now),
        can_act=can_act(principal.role, esc.level),
    )
    end = stay.discharged_at or now
    return EscalationPage(
        item=item,
        events=list(events),
        reviews=reviews,  # type: ignore[arg-type]
        los=midnights_between(stay.admitted_at, end),
    )
