"""Site flow overview and improvement metrics (HTML).

/flow            every ward in scope on one table, live over server-sent events
/flow/table      the table alone, re-fetched when a ward in scope changes
/flow/events     the event stream (ids only)
/flow/patients   the patients behind one number of the table
/metrics         metrics over a period: charts, their numbers as tables, CSV downloads
/metrics/table   one of those tables alone (a folded table's rows, fetched when opened)
/metrics/csv     one of those tables as CSV

Everything needs Perm.READ_SITE; people whose role is not site-wide see only their wards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.auth.deps import CanReadSite
from app.auth.scope import ward_by_code_or_404
from app.core.clock import london_date
from app.core.errors import NotFound
from app.core.long_stay import LONG_STAY_THRESHOLDS
from app.core.params import Now
from app.core.principal import Principal
from app.core.types import CodeOrBlank
from app.db import SessionDep
from app.metrics import flow, forms, queries, reports
from app.metrics.present import presenters, tables
from app.metrics.rules.report import Report
from app.models import Ward
from app.reference import labels
from app.wards.queries import bed_availability
from app.web.htmx import vary, wants_fragment
from app.web.sse import StreamTurn, change_stream, watching
from app.web.templating import date_text, render

router = APIRouter(include_in_schema=False)

Measure = Annotated[str, Query(max_length=40, pattern="^(" + "|".join(flow.MEASURES) + ")$")]
WardCode = Annotated[CodeOrBlank, Query()]
TableName = Annotated[str, Query(max_length=40, pattern="^(" + "|".join(tables.TABLE_NAMES) + ")$")]


# Flow overview ---------------------------------------------------------------------------------


def _flow_context(session: Session, actor: Principal, now: datetime) -> dict:
    wards = queries.wards_in_scope(session, actor, active_only=True)
    return {
        "overview": flow.flow_overview(session, wards, now),
        "beds": bed_availability(session, wards, london_date(now)),
        "cells": presenters.cells,
        "columns": presenters.COLUMNS,
        "now": now,
    }


@router.get("/flow", name="show_flow")
def show_flow(request: Request, session: SessionDep, actor: CanReadSite, now: Now) -> Response:
    block = "flow_table" if wants_fragment(request, "flow-table") else None
    return vary(render(request, "metrics/flow.html", _flow_context(session, actor, now), block_name=block))


@router.get("/flow/table", name="flow_table")
def flow_table(request: Request, session: SessionDep, actor: CanReadSite, now: Now) -> Response:
    """The table alone, re-fetched by open overviews when a ward in scope changes."""
    return render(request, "metrics/flow.html", _flow_context(session, actor, now), block_name="flow_table")


@router.get("/flow/events", name="flow_events", dependencies=[StreamTurn])
async def flow_events(request: Request, session: SessionDep, actor: CanReadSite) -> Response:
    """Server-sent events: `flow-changed` with ids only, when anything changes on a ward in scope."""
    wards = await run_in_threadpool(queries.wards_in_scope, session, actor, active_only=True)
    await watching(request, session)
    return change_stream(request, [w.id for w in wards], "flow-changed")


@router.get("/flow/patients", name="flow_patients")
def show_flow_patients(
    request: Request,
    session: SessionDep,
    actor: CanReadSite,
    now: Now,
    measure: Measure,
    ward: WardCode = "",
) -> Response:
    """The patients behind one number of the overview: one ward, or every ward in scope."""
    chosen = ward_by_code_or_404(session, actor, ward) if ward else None
    ward_ids = [chosen.id] if chosen else [w.id for w in queries.wards_in_scope(session, actor, active_only=True)]
    patients = flow.flow_patients(
        session,
        ward_ids,
        measure,
        now,
        destination_labels=labels(session, "destinations"),
        cause_labels=labels(session, "failed_discharge_reasons"),
        family_labels=labels(session, "families"),
    )
    context = {
        "patients": patients,
        "measure": measure,
        "measure_label": flow.MEASURES[measure],
        "ward": chosen,
        "today": london_date(now),
        "now": now,
    }
    return render(request, "metrics/patients.html", context)


# Metrics over time -----------------------------------------------------------------------------


def _filter(
    request: Request, session: Session, actor: Principal, now: datetime
) -> tuple[list[Ward], forms.MetricsFilter | None, dict[str, str], dict[str, str]]:
    wards = queries.wards_in_scope(session, actor)
    chosen, values, errors = forms.parse_filter(request.query_params, wards, london_date(now))
    if errors.get("ward") and not actor.site_wide:
        raise NotFound("No such ward")  # another ward's code answers like a missing one
    return wards, chosen, values, errors


def _report(request: Request, session: Session, chosen: forms.MetricsFilter, wards: list[Ward]) -> Report:
    """The report the filter asks for: its ward, or every ward in scope. Days not stored yet are
    worked out from the facts while the background refresher stores them (a GET never writes)."""
    return reports.metrics_report(
        session,
        [chosen.ward] if chosen.ward else wards,
        chosen.period,
        refresh_later=request.app.state.metrics_refresh_later,
    )


def _period_text(chosen: forms.MetricsFilter) -> str:
    p = chosen.period
    where = chosen.ward.name if chosen.ward else "All your wards"
    return f"{where}, {date_text(p.date_from)} to {date_text(p.date_to)} ({p.length} day{'s' if p.length != 1 else ''})"


@router.get("/metrics", name="show_metrics")
def show_metrics(request: Request, session: SessionDep, actor: CanReadSite, now: Now) -> Response:
    wards, chosen, values, errors = _filter(request, session, actor, now)
    context: dict = {"wards": wards, "values": values, "errors": errors, "report": None}
    if chosen is not None:
        report = _report(request, session, chosen, wards)
        context |= {
            "report": report,
            "tables": tables.metric_tables(report),
            "charts": presenters.metric_charts(report),
            "query": chosen.query(),
            "period_text": _period_text(chosen),
            "show": tables.show,
            "thresholds": LONG_STAY_THRESHOLDS,
            "ward": chosen.ward,
        }
    return render(request, "metrics/metrics.html", context, status_code=422 if errors else 200)


@router.get("/metrics/table", name="metrics_table")
def metrics_table(request: Request, session: SessionDep, actor: CanReadSite, now: Now, table: TableName) -> Response:
    """One table of the page: its rows for a folded table opened on the page (htmx), or a page of its own."""
    wards, chosen, values, errors = _filter(request, session, actor, now)
    if chosen is None:
        context: dict[str, Any] = {"wards": wards, "values": values, "errors": errors, "report": None}
        return render(request, "metrics/metrics.html", context, status_code=422)
    report = _report(request, session, chosen, wards)
    context = {
        "table": tables.metric_tables(report)[table],
        "period_text": _period_text(chosen),
        "query": chosen.query(),
        "show": tables.show,
    }
    block = "table" if wants_fragment(request, f"numbers-{table}") else None
    return vary(render(request, "metrics/table.html", context, block_name=block))


@router.get("/metrics/csv", name="metrics_csv")
def metrics_csv(request: Request, session: SessionDep, actor: CanReadSite, now: Now, table: TableName) -> Response:
    wards, chosen, _values, errors = _filter(request, session, actor, now)
    if chosen is None:
        return Response("; ".join(errors.values()), status_code=422, media_type="text/plain")
    report = _report(request, session, chosen, wards)
    p = chosen.period
    scope = chosen.ward.code if chosen.ward else "all-wards"
    name = f"{table}-{scope}-{p.date_from.isoformat()}-to-{p.date_to.isoformat()}.csv"
    return Response(
        tables.to_csv(tables.metric_tables(report)[table]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
