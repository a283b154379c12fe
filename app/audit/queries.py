"""The audit viewer's query: filters, ward scope and newest-first paging by id.

The patient filter is the patient's internal id: the viewer turns a typed NHS number or
hospital number into it (`find_patient`) so that neither ever appears in the page's address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, exists, func, select
from sqlmodel.sql.expression import SelectOfScalar

from app.core.clock import london_start_of_day
from app.core.principal import Principal
from app.models import AuditEvent, Patient, User, Ward

PAGE_SIZE = 50
NO_MATCH = -1  # a filter value no row has: the filter named someone unknown


@dataclass
class AuditFilters:
    patient_id: int | None = None
    user: str = ""  # username
    ward_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    before_id: int | None = None


@dataclass
class AuditPage:
    events: list[AuditEvent]
    patients: dict[int, Patient]
    wards: dict[int, Ward]
    next_before_id: int | None
    unknown: list[str]


def audit_page(session: Session, principal: Principal, filters: AuditFilters) -> AuditPage:
    query = select(AuditEvent)
    unknown: list[str] = []
    if not principal.site_wide:
        # Ward managers see what happened on their wards only.
        query = query.where(col(AuditEvent.ward_id).in_(principal.ward_ids or {-1}))
    if filters.ward_id is not None:
        query = query.where(AuditEvent.ward_id == filters.ward_id)
    if filters.patient_id is not None:
        query = query.where(AuditEvent.patient_id == filters.patient_id)
    if filters.user:
        user_id = session.exec(select(User.id).where(func.lower(User.username) == filters.user.strip().lower())).first()
        if user_id is None:
            unknown.append("user")
        query = query.where(AuditEvent.actor_id == (user_id or NO_MATCH))
    if filters.date_from:
        query = query.where(AuditEvent.occurred_at >= london_start_of_day(filters.date_from))
    if filters.date_to:
        query = query.where(AuditEvent.occurred_at < london_start_of_day(filters.date_to + timedelta(days=1)))
    if filters.before_id:
        query = query.where(col(AuditEvent.id) < filters.before_id)
    events = list(session.exec(query.order_by(col(AuditEvent.id).desc()).limit(PAGE_SIZE + 1)))
    more = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    patient_ids = {e.patient_id for e in events if e.patient_id}
    ward_ids = {e.ward_id for e in events if e.ward_id}
    patients = (
        {p.id: p for p in session.exec(select(Patient).where(col(Patient.id).in_(patient_ids)))} if patient_ids else {}
    )
    wards = {w.id: w for w in session.exec(select(Ward).where(col(Ward.id).in_(ward_ids)))} if ward_ids else {}
    return AuditPage(
        events=events,
        patients=patients,
        wards=wards,  # type: ignore[arg-type]
        next_before_id=events[-1].id if more and events else None,
        unknown=unknown,
    )


def _visible(query: SelectOfScalar[Patient], principal: Principal) -> SelectOfScalar[Patient]:
    """Patients the viewer may name: anyone for site-wide roles; for ward managers, patients
    with an event on their wards (whom the unfiltered trail already shows them)."""
    if principal.site_wide:
        return query
    on_my_wards = (
        select(AuditEvent.id)
        .where(AuditEvent.patient_id == Patient.id)
        .where(col(AuditEvent.ward_id).in_(principal.ward_ids or {-1}))
    )
    return query.where(exists(on_my_wards))


def find_patient(session: Session, principal: Principal, typed: str) -> Patient | None:
    """The patient with this NHS number or hospital number (spaces and dashes ignored)."""
    key = "".join(ch for ch in typed if ch.isalnum())
    if not key:
        return None
    query = select(Patient).where((Patient.nhs_number == key) | (func.upper(Patient.mrn) == key.upper()))
    return session.exec(_visible(query, principal).order_by(Patient.id).limit(1)).first()


def visible_patient(session: Session, principal: Principal, patient_id: int) -> Patient | None:
    return session.exec(_visible(select(Patient).where(Patient.id == patient_id), principal)).first()


def changes(before: dict | None, after: dict | None) -> list[tuple[str, object, object]]:
    """(field, before, after) rows for display, in a stable order."""
    before, after = before or {}, after or {}
    keys = list(dict.fromkeys([*before, *after]))
    return [(k, before.get(k), after.get(k)) for k in keys]
