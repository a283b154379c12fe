"""The transfer-of-care hub list: one live list across wards of every current patient on
discharge pathway 1-3 or with an open referral, with minimal identifiers (docs/referrals.md)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel
from sqlmodel import Session, col, or_, select

from app.core import codes
from app.core.clock import london_date
from app.core.principal import Principal
from app.milestones import rules as milestone_rules
from app.models import Action, Bed, DischargeMilestone, MilestoneType, Patient, Referral, ReferralService, Stay, Ward
from app.stays import referrals as referral_rules

HUB_PATHWAYS = (1, 2, 3)


class HubReferral(BaseModel):
    id: int
    service_code: str
    service: str
    status: str  # app.stays.referrals.status
    hours_since_sent: float
    open: bool


class HubRow(BaseModel):
    """One patient. Identifiers are kept to what the hub needs to talk to the ward about them:
    initials, age, ward and bed; never the name, NHS number, hospital number or date of birth."""

    stay_id: int
    initials: str
    age: int
    ward_id: int
    ward: str
    bed: str | None
    pathway: int | None
    days_since_discharge_ready: int | None
    referrals: list[HubReferral]
    milestones_total: int
    milestones_done: int
    milestones_overdue: int
    next_action: str | None
    next_action_owner: str | None
    next_action_due: datetime | None


@dataclass(frozen=True)
class HubFilters:
    service: str | None = None  # a referral service code: patients with a referral to it
    pathway: int | None = None


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def hub_rows(session: Session, actor: Principal, now: datetime, filters: HubFilters | None = None) -> list[HubRow]:
    """Current stays in the actor's scope on pathway 1-3 or with an open referral, longest
    discharge-ready first."""
    filters = filters or HubFilters()
    today = london_date(now)
    open_referral = (
        select(Referral.stay_id)
        .where(
            col(Referral.decided_at).is_(None),
            col(Referral.response).not_in((codes.REFERRAL_DECLINED, codes.REFERRAL_CHALLENGED)),
        )
        .scalar_subquery()
    )
    query = (
        select(Stay, Patient, Ward, Bed)
        .join(Patient, col(Patient.id) == Stay.patient_id)
        .join(Ward, col(Ward.id) == Stay.ward_id)
        .outerjoin(Bed, col(Bed.id) == Stay.bed_id)
        .where(
            col(Stay.discharged_at).is_(None),
            or_(col(Stay.pathway).in_(HUB_PATHWAYS), col(Stay.id).in_(open_referral)),
        )
    )
    if not actor.site_wide:
        query = query.where(col(Stay.ward_id).in_(actor.ward_ids or {-1}))
    if filters.pathway is not None:
        query = query.where(Stay.pathway == filters.pathway)
    if filters.service:
        query = query.where(
            col(Stay.id).in_(select(Referral.stay_id).where(Referral.service_code == filters.service).scalar_subquery())
        )
    found = list(session.exec(query))
    stay_ids = [stay.id for stay, *_ in found]
    if not stay_ids:
        return []
    labels = {s.code: s.label for s in session.exec(select(ReferralService))}
    by_stay: dict[int, list[Referral]] = defaultdict(list)
    for ref in session.exec(select(Referral).where(col(Referral.stay_id).in_(stay_ids)).order_by(col(Referral.id))):
        by_stay[ref.stay_id].append(ref)
    milestones: dict[int, list[DischargeMilestone]] = defaultdict(list)
    for m in session.exec(select(DischargeMilestone).where(col(DischargeMilestone.stay_id).in_(stay_ids))):
        milestones[m.stay_id].append(m)
    milestone_labels = {t.code: t.label for t in session.exec(select(MilestoneType))}
    actions: dict[int, list[Action]] = defaultdict(list)
    for a in session.exec(
        select(Action).where(col(Action.stay_id).in_(stay_ids), col(Action.done_at).is_(None)).order_by(col(Action.id))
    ):
        actions[a.stay_id].append(a)
    rows = []
    for stay, patient, ward, bed in found:
        open_ms = sorted((m for m in milestones[stay.id] if m.status in codes.MILESTONE_OPEN), key=lambda m: m.due_at)
        next_text, owner, due = None, None, None
        open_actions = sorted(actions[stay.id], key=lambda a: (a.due_at is None, a.due_at or now, a.id))
        if open_actions:
            next_text, owner, due = open_actions[0].description, open_actions[0].owner_role_code, open_actions[0].due_at
        elif open_ms:
            first = open_ms[0]
            next_text, owner, due = milestone_labels.get(first.type_code), first.owner_role_code, first.due_at
        rows.append(
            HubRow(
                stay_id=stay.id,
                initials=f"{patient.given_name[:1]}{patient.family_name[:1]}".upper(),
                age=_age(patient.date_of_birth, today),
                ward_id=ward.id,
                ward=ward.name,
                bed=bed.label if bed else None,
                pathway=stay.pathway,
                days_since_discharge_ready=(today - stay.discharge_ready_date).days
                if stay.discharge_ready_date
                else None,
                referrals=[
                    HubReferral(
                        id=r.id,
                        service_code=r.service_code,
                        service=labels.get(r.service_code, r.service_code),
                        status=referral_rules.status(r),
                        hours_since_sent=round(max(0.0, (now - r.sent_at).total_seconds() / 3600), 1),
                        open=referral_rules.is_open(r),
                    )
                    for r in by_stay[stay.id]
                ],
                milestones_total=len(milestones[stay.id]),
                milestones_done=sum(m.status == codes.MILESTONE_DONE for m in milestones[stay.id]),
                milestones_overdue=sum(
                    milestone_rules.rag(m.status, m.due_at, now) == codes.RAG_RED for m in milestones[stay.id]
                ),
                next_action=next_text,
                next_action_owner=owner,
                next_action_due=due,
            )
        )
    rows.sort(key=lambda r: (-(r.days_since_discharge_ready or -1), r.ward, r.bed or "", r.stay_id))
    return rows


def hub_ward_ids(session: Session, actor: Principal) -> list[int]:
    """The wards whose changes the hub list follows."""
    if actor.site_wide:
        return list(session.exec(select(Ward.id)))
    return sorted(actor.ward_ids)
