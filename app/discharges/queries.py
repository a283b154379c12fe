"""Read models for the failed-discharge screens and exports.

Every function costs a fixed number of SQL queries whatever the number of rows (the causes of
a page of failed discharges come in one query, not one per row). Ward scope is applied here:
people who are not site-wide see only failed discharges of stays on their wards. A failed
discharge belongs to the stay's current ward (the same rule as the JSON API and the 404 scope).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case
from sqlmodel import Session, col, func, select

from app.core.clock import london_start_of_day
from app.core.principal import Principal
from app.discharges.causes import CauseCount
from app.models import Bed, FailedDischarge, FailedDischargeCause, Patient, Stay, User, Ward

LIST_LIMIT = 200
EXPORT_LIMIT = 20_000
_CHUNK = 1_000  # ids per IN (...) list when loading causes


@dataclass(frozen=True)
class Filters:
    ward_id: int | None = None
    date_from: date | None = None  # planned date, Europe/London, inclusive
    date_to: date | None = None  # planned date, Europe/London, inclusive
    cause: str | None = None  # any failed discharge citing this cause
    avoidable: bool | None = None
    open_only: bool = False  # follow-up set and not done


@dataclass
class Row:
    """One failed discharge as the list page and the CSV export show it."""

    id: int
    version: int
    stay_id: int
    planned_for: datetime
    detail: str
    avoidable: bool
    logged_at: datetime
    logged_by: str
    follow_up_owner_role_code: str | None
    follow_up_due_at: datetime | None
    follow_up_done_at: datetime | None
    ward_id: int
    ward_code: str
    ward_name: str
    bed_label: str | None
    patient_mrn: str
    patient_family_name: str
    patient_given_name: str
    primary_cause: str | None = None
    causes: list[str] = field(default_factory=list)  # primary first, then the rest by code
    overdue: bool = False

    @property
    def has_follow_up(self) -> bool:
        return self.follow_up_owner_role_code is not None or self.follow_up_due_at is not None

    @property
    def follow_up_open(self) -> bool:
        return self.has_follow_up and self.follow_up_done_at is None


@dataclass
class Listing:
    rows: list[Row]
    more: bool  # there were more than the limit


@dataclass(frozen=True)
class StayOption:
    stay_id: int
    ward_id: int
    ward_name: str
    bed_label: str | None
    family_name: str
    given_name: str

    @property
    def text(self) -> str:
        return f"{self.ward_name} – {self.bed_label or 'No bed'} – {self.family_name.upper()}, {self.given_name}"


def in_scope(principal: Principal, query: Any) -> Any:
    """Limit a query that joins Stay to the principal's wards."""
    if principal.site_wide:
        return query
    return query.where(col(Stay.ward_id).in_(principal.ward_ids or {-1}))


def is_overdue(due_at: datetime | None, done_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and done_at is None and due_at < now


def _filtered(query: Any, principal: Principal, filters: Filters) -> Any:
    query = in_scope(principal, query)
    if filters.ward_id is not None:
        query = query.where(Stay.ward_id == filters.ward_id)
    if filters.date_from is not None:
        query = query.where(FailedDischarge.planned_for >= london_start_of_day(filters.date_from))
    if filters.date_to is not None:
        query = query.where(FailedDischarge.planned_for < london_start_of_day(filters.date_to + timedelta(days=1)))
    if filters.avoidable is not None:
        query = query.where(FailedDischarge.avoidable == filters.avoidable)
    if filters.open_only:
        query = query.where(
            col(FailedDischarge.follow_up_done_at).is_(None),
            col(FailedDischarge.follow_up_owner_role_code).is_not(None)
            | col(FailedDischarge.follow_up_due_at).is_not(None),
        )
    if filters.cause:
        citing = select(FailedDischargeCause.failed_discharge_id).where(
            FailedDischargeCause.reason_code == filters.cause
        )
        query = query.where(col(FailedDischarge.id).in_(citing))
    return query


def causes_by_failed_discharge(session: Session, ids: list[int]) -> dict[int, tuple[str | None, list[str]]]:
    """id -> (primary cause, all causes with the primary first). One query per 1,000 ids."""
    found: dict[int, list[FailedDischargeCause]] = {i: [] for i in ids}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for cause in session.exec(
            select(FailedDischargeCause).where(col(FailedDischargeCause.failed_discharge_id).in_(chunk))
        ):
            found[cause.failed_discharge_id].append(cause)
    out: dict[int, tuple[str | None, list[str]]] = {}
    for fd_id, causes in found.items():
        primary = next((c.reason_code for c in causes if c.is_primary), None)
        ordered = sorted(causes, key=lambda c: (not c.is_primary, c.reason_code))
        out[fd_id] = (primary, [c.reason_code for c in ordered])
    return out


def failed_discharges(
    session: Session, principal: Principal, filters: Filters, *, now: datetime, limit: int = LIST_LIMIT
) -> Listing:
    """Newest planned first. Two queries (one more per extra 1,000 rows for the export)."""
    query = (
        select(FailedDischarge, Stay.ward_id, Ward.code, Ward.name, Bed.label, Patient, User.display_name)
        .join(Stay, col(Stay.id) == FailedDischarge.stay_id)
        .join(Ward, col(Ward.id) == Stay.ward_id)
        .join(Patient, col(Patient.id) == Stay.patient_id)
        .join(User, col(User.id) == FailedDischarge.logged_by_id)
        .outerjoin(Bed, col(Bed.id) == Stay.bed_id)
    )
    query = _filtered(query, principal, filters)
    query = query.order_by(col(FailedDischarge.planned_for).desc(), col(FailedDischarge.id).desc()).limit(limit + 1)
    found = list(session.exec(query))
    more = len(found) > limit
    found = found[:limit]
    causes = causes_by_failed_discharge(session, [fd.id for fd, *_ in found])
    rows = []
    for fd, ward_id, ward_code, ward_name, bed_label, patient, logged_by in found:
        primary, codes = causes[fd.id]
        rows.append(
            Row(
                id=fd.id,
                version=fd.version,
                stay_id=fd.stay_id,
                planned_for=fd.planned_for,
                detail=fd.detail,
                avoidable=fd.avoidable,
                logged_at=fd.logged_at,
                logged_by=logged_by,
                follow_up_owner_role_code=fd.follow_up_owner_role_code,
                follow_up_due_at=fd.follow_up_due_at,
                follow_up_done_at=fd.follow_up_done_at,
                ward_id=ward_id,
                ward_code=ward_code,
                ward_name=ward_name,
                bed_label=bed_label,
                patient_mrn=patient.mrn,
                patient_family_name=patient.family_name,
                patient_given_name=patient.given_name,
                primary_cause=primary,
                causes=codes,
                overdue=is_overdue(fd.follow_up_due_at, fd.follow_up_done_at, now),
            )
        )
    return Listing(rows=rows, more=more)


@dataclass(frozen=True)
class CauseSummary:
    counts: list[CauseCount]  # unranked; causes.pareto_rows ranks them
    failed_discharges: int  # failed discharges in the period (each may cite several causes)
    avoidable: int


def cause_summary(
    session: Session,
    principal: Principal,
    filters: Filters,
    labels: dict[str, str],
) -> CauseSummary:
    """Counts per cause (every mention, and as the main cause) for a period. Two queries."""
    primary_count = func.sum(case((col(FailedDischargeCause.is_primary).is_(True), 1), else_=0))
    per_cause = (
        select(FailedDischargeCause.reason_code, func.count(), primary_count)
        .join(FailedDischarge, col(FailedDischarge.id) == FailedDischargeCause.failed_discharge_id)
        .join(Stay, col(Stay.id) == FailedDischarge.stay_id)
        .group_by(FailedDischargeCause.reason_code)
    )
    per_cause = _filtered(per_cause, principal, filters)
    counts = [
        CauseCount(code=code, label=labels.get(code, code), count=int(n), primary=int(p or 0))
        for code, n, p in session.exec(per_cause)
    ]
    totals = select(func.count(), func.sum(case((col(FailedDischarge.avoidable).is_(True), 1), else_=0))).join(
        Stay, col(Stay.id) == FailedDischarge.stay_id
    )
    totals = _filtered(totals.select_from(FailedDischarge), principal, filters)
    total, avoidable = session.exec(totals).one()
    return CauseSummary(counts=counts, failed_discharges=int(total or 0), avoidable=int(avoidable or 0))


def wards_in_scope(session: Session, principal: Principal) -> list[Ward]:
    query = select(Ward).where(col(Ward.is_active).is_(True)).order_by(Ward.name, Ward.code)
    if not principal.site_wide:
        query = query.where(col(Ward.id).in_(principal.ward_ids or {-1}))
    return list(session.exec(query))


def current_stays(session: Session, principal: Principal, ward_id: int | None = None) -> list[StayOption]:
    """Patients in hospital now on the principal's wards, by ward then bed: one query."""
    no_bed_last = case((col(Bed.id).is_(None), 1), else_=0)
    query = (
        select(Stay.id, Ward.id, Ward.name, Bed.label, Patient.family_name, Patient.given_name)
        .join(Ward, col(Ward.id) == Stay.ward_id)
        .join(Patient, col(Patient.id) == Stay.patient_id)
        .outerjoin(Bed, col(Bed.id) == Stay.bed_id)
        .where(col(Stay.discharged_at).is_(None))
        .order_by(Ward.name, Ward.id, no_bed_last, Bed.sort_order, Bed.label, Patient.family_name, Stay.id)
    )
    query = in_scope(principal, query)
    if ward_id is not None:
        query = query.where(Stay.ward_id == ward_id)
    return [StayOption(*row) for row in session.exec(query)]
