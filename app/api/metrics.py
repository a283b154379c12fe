"""Metrics and national returns (JSON and CSV under /api/v1/metrics). Everything needs Perm.READ_SITE.

The same read models as the HTML pages (app.metrics.flow, queries, returns): one domain, two
ways in. `ward_id` narrows to one ward you can see; without it, every ward in your scope.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.auth.deps import CanReadSite
from app.auth.scope import ward_or_404
from app.core.clock import london_date
from app.core.errors import RuleViolation
from app.core.params import Now
from app.core.principal import Principal
from app.core.types import Id, IsoDate
from app.db import SessionDep
from app.metrics import flow, queries, reports, returns
from app.metrics.forms import default_period
from app.metrics.present import tables
from app.metrics.rules.period import MAX_PERIOD_DAYS, Period
from app.metrics.schemas import (
    ColumnPublic,
    DrdExtractPublic,
    DrdRecordPublic,
    FlowPublic,
    FlowWardPublic,
    MetricsPublic,
    NctrSnapshotPublic,
    ReasonPublic,
    TablePublic,
    WarningPublic,
)
from app.models import Ward
from app.reference import rows
from app.web.idempotency import IdempotentRoute

router = APIRouter(prefix="/metrics", tags=["metrics"], route_class=IdempotentRoute)

WardId = Annotated[Id | None, Query(description="One ward; every ward in scope if absent")]
DateFrom = Annotated[IsoDate | None, Query(description="First London date (default: 28 days before yesterday)")]
DateTo = Annotated[IsoDate | None, Query(description="Last London date, included (default: yesterday)")]
Day = Annotated[IsoDate | None, Query(alias="date", description="Snapshot London date (default: today)")]


def _wards(session: Session, actor: Principal, ward_id: int | None, *, active_only: bool = False) -> list[Ward]:
    if ward_id is not None:
        return [ward_or_404(session, actor, ward_id)]
    return queries.wards_in_scope(session, actor, active_only=active_only)


def _period(date_from: date | None, date_to: date | None, now: datetime) -> Period:
    today = london_date(now)
    default = default_period(today)
    start, end = date_from or default.date_from, date_to or default.date_to
    if end > today:
        raise RuleViolation("The end of the period cannot be in the future", field="date_to")
    if start > end:
        raise RuleViolation("The start of the period must be on or before its end", field="date_from")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise RuleViolation(f"Choose a period of {MAX_PERIOD_DAYS} days or fewer", field="date_from")
    return Period(start, end)


def _csv(body: str, filename: str) -> Response:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _flow_ward(row: flow.FlowRow) -> FlowWardPublic:
    return FlowWardPublic(
        ward_id=row.ward_id,
        code=row.code,
        name=row.name,
        beds_open=row.beds_open,
        beds_occupied=row.beds_occupied,
        patients=row.patients,
        nctr=row.nctr,
        los_7_plus=row.los[7],
        los_14_plus=row.los[14],
        los_21_plus=row.los[21],
        with_edd=row.with_edd,
        edd_percent=row.edd_percent,
        edd_overdue=row.edd_overdue,
        not_reviewed=row.not_reviewed,
        discharged=row.discharged,
        discharged_before_midday=row.discharged_before_midday,
        failed_last_7_days=row.failed,
        open_escalations=row.escalations,
    )


@router.get("/flow", response_model=FlowPublic)
def get_flow(session: SessionDep, actor: CanReadSite, now: Now) -> FlowPublic:
    """The site flow overview now: one entry per active ward in scope, and the total."""
    overview = flow.flow_overview(session, queries.wards_in_scope(session, actor, active_only=True), now)
    return FlowPublic(
        today=overview.today,
        at=overview.now,
        wards=[_flow_ward(r) for r in overview.rows],
        total=_flow_ward(overview.total),
    )


def _cell(value: object) -> str | int | float | None:
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)


@router.get("", response_model=MetricsPublic)
def get_metrics(
    request: Request,
    session: SessionDep,
    actor: CanReadSite,
    now: Now,
    ward_id: WardId = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> MetricsPublic:
    """Every metrics table for a period (the numbers behind the charts of /metrics)."""
    period = _period(date_from, date_to, now)
    wards = _wards(session, actor, ward_id)
    report = reports.metrics_report(session, wards, period, refresh_later=request.app.state.metrics_refresh_later)
    return MetricsPublic(
        date_from=period.date_from,
        date_to=period.date_to,
        ward_ids=[w.id for w in wards],
        tables={
            name: TablePublic(
                title=t.title,
                columns=[ColumnPublic(header=c.header, kind=c.kind) for c in t.columns],
                rows=[[_cell(v) for v in row] for row in t.rows],
                footer=[_cell(v) for v in t.footer] if t.footer else None,
            )
            for name, t in tables.metric_tables(report).items()
        },
    )


def _snapshot(
    session: Session, actor: Principal, ward_id: int | None, day: date | None, now: datetime
) -> returns.NctrSnapshot:
    today = london_date(now)
    day = day or today
    if day > today:
        raise RuleViolation("The snapshot date cannot be in the future", field="date")
    if day < today - timedelta(days=MAX_PERIOD_DAYS):
        raise RuleViolation(f"Choose a date in the last {MAX_PERIOD_DAYS} days", field="date")
    wards = _wards(session, actor, ward_id)
    reasons = {r.code: (r.label, r.family_code) for r in rows(session, "delay_reasons")}
    patients = returns.load_census_patients(session, [w.id for w in wards], day)
    return returns.nctr_snapshot(day, patients, reasons)


def _reason(line: returns.ReasonLine) -> ReasonPublic:
    return ReasonPublic(
        site_code=line.site_code,
        code=line.code,
        label=line.label,
        family=line.family,
        patients=line.patients,
        los_7_plus=line.los[7],
        los_14_plus=line.los[14],
        los_21_plus=line.los[21],
    )


def _warnings(items: list[returns.Warning]) -> list[WarningPublic]:
    return [WarningPublic(code=w.code, message=w.message, count=w.count, stay_ids=list(w.stay_ids)) for w in items]


@router.get("/nctr-snapshot", response_model=NctrSnapshotPublic)
def get_nctr_snapshot(
    session: SessionDep, actor: CanReadSite, now: Now, ward_id: WardId = None, day: Day = None
) -> NctrSnapshotPublic:
    """Patients without criteria to reside at the 08:00 census, by delay reason, with warnings."""
    snapshot = _snapshot(session, actor, ward_id, day, now)
    return NctrSnapshotPublic(
        snapshot_date=snapshot.day,
        census_at=snapshot.census_at,
        in_hospital=snapshot.in_hospital,
        nctr=[_reason(x) for _, x in sorted(snapshot.nctr.items())],
        reasons=[_reason(x) for x in snapshot.reasons],
        warnings=_warnings(snapshot.warnings),
    )


@router.get(
    "/nctr-snapshot.csv",
    name="get_nctr_snapshot_csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def get_nctr_snapshot_csv(
    session: SessionDep, actor: CanReadSite, now: Now, ward_id: WardId = None, day: Day = None
) -> Response:
    """The snapshot in the documented CSV layout (docs/metrics.md)."""
    snapshot = _snapshot(session, actor, ward_id, day, now)
    body = returns.to_csv(returns.SNAPSHOT_HEADER, returns.snapshot_rows(snapshot))
    return _csv(body, f"nctr-snapshot-{snapshot.day.isoformat()}.csv")


def _extract(session: Session, actor: Principal, ward_id: int | None, period: Period) -> list[returns.DrdRecord]:
    wards = _wards(session, actor, ward_id)
    stays = returns.load_discharged_stays(session, [w.id for w in wards], period)
    return [returns.drd_record(s) for s in stays]


@router.get("/drd-extract", response_model=DrdExtractPublic)
def get_drd_extract(
    session: SessionDep,
    actor: CanReadSite,
    now: Now,
    ward_id: WardId = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> DrdExtractPublic:
    """One record per discharge in the period: discharge ready date derived from the reviews, delay, band."""
    period = _period(date_from, date_to, now)
    records = _extract(session, actor, ward_id, period)
    return DrdExtractPublic(
        date_from=period.date_from,
        date_to=period.date_to,
        records=[
            DrdRecordPublic(
                site_code=r.stay.site_code,
                ward_code=r.stay.ward_code,
                stay_id=r.stay.stay_id,
                spell_id=r.stay.spell_id,
                mrn=r.stay.mrn,
                admission_date=r.admission_date,
                discharge_date=r.discharge_date,
                discharge_ready_date=r.drd,
                days_delayed=r.days_delayed,
                delay_band=r.band or None,
                los_midnights=r.los,
                discharge_destination_code=r.stay.destination_code,
                discharge_pathway=r.stay.pathway,
                data_quality=list(r.warnings),
            )
            for r in records
        ],
        warnings=_warnings(returns.drd_warnings(records)),
    )


@router.get(
    "/drd-extract.csv",
    name="get_drd_extract_csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def get_drd_extract_csv(
    session: SessionDep,
    actor: CanReadSite,
    now: Now,
    ward_id: WardId = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> Response:
    """The extract in the documented CSV layout (docs/metrics.md)."""
    period = _period(date_from, date_to, now)
    records = _extract(session, actor, ward_id, period)
    name = f"drd-extract-{period.date_from.isoformat()}-to-{period.date_to.isoformat()}.csv"
    return _csv(returns.to_csv(returns.DRD_HEADER, returns.drd_rows(records)), name)
