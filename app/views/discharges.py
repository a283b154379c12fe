"""Failed discharges for flow coordinators and ward teams: log one in seconds, revisit the EDD,
follow up, list and export, and see which causes matter most (Pareto chart).

Writes go through app.discharges.service and app.stays.service (which write the audit rows);
reads through app.discharges.queries. Records outside the user's wards answer 404.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.audit.service import last_change
from app.auth.deps import CanLogFailedDischarge, CanReadWard, CanWriteClinical
from app.auth.permissions import Perm, allows
from app.auth.scope import on_stay_or_404, stay_or_404
from app.core.clock import london_date, london_time
from app.core.errors import NotFound, StaleVersion
from app.core.params import Now, PathId
from app.core.principal import Principal
from app.db import SessionDep
from app.discharges import causes, forms, queries, service
from app.discharges.schemas import FailedDischargeUpdate
from app.metrics.present import charts
from app.models import Bed, FailedDischarge, Patient, Stay, Ward
from app.reference import labels, rows
from app.rounds.queries import conflict_details
from app.stays.service import set_edd
from app.web.form_writes import OUT_OF_DATE, write_form
from app.web.forms import FormData
from app.web.htmx import go_to, vary, wants_fragment
from app.web.templating import date_text, render
from app.web.urls import path_for

router = APIRouter(include_in_schema=False)

# Roles that can own a follow-up: people, not accounts for administration or integration.
NOT_OWNERS = {"admin", "integration"}
DEFAULT_CHART_DAYS = 28


# Logging a failed discharge -----------------------------------------------------------------


def _owner_roles(session: Session) -> list:
    return [r for r in rows(session, "roles") if r.code not in NOT_OWNERS]


def _blank_values(now: datetime) -> dict[str, Any]:
    return {"planned_date": london_date(now).isoformat(), "causes": []}


def _patient_facts(session: Session, stay: Stay) -> dict[str, Any]:
    bed = session.get(Bed, stay.bed_id) if stay.bed_id else None
    return {
        "stay": stay,
        "patient": session.get(Patient, stay.patient_id),
        "ward": session.get(Ward, stay.ward_id),
        "bed_label": bed.label if bed else None,
    }


def _log_page(
    request: Request,
    session: Session,
    actor: Principal,
    now: datetime,
    *,
    stay: Stay | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    ward_filter: int | None = None,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "values": values,
        "errors": errors or {},
        "reasons": rows(session, "failed_discharge_reasons"),
        "roles": _owner_roles(session),
        "today": london_date(now),
        "ward_filter": ward_filter,
    }
    if stay is not None:
        context |= _patient_facts(session, stay) | {"form_action": f"/stays/{stay.id}/failed-discharges/new"}
    else:
        context |= {
            "stay": None,
            "stay_options": queries.current_stays(session, actor, ward_filter),
            "form_action": "/failed-discharges/new",
        }
    block = "fd_form" if wants_fragment(request, "fd-form") else None
    return vary(render(request, "discharges/new.html", context, block_name=block, status_code=status_code))


def _ward_param(request: Request, actor: Principal) -> int | None:
    ward_id = forms.parse_id(request.query_params.get("ward"))
    return ward_id if ward_id is not None and actor.can_access_ward(ward_id) else None


def _record(
    request: Request,
    session: Session,
    actor: Principal,
    now: datetime,
    stay: Stay | None,
    form: dict[str, Any],
    *,
    standalone: bool = False,
    stay_errors: dict[str, str] | None = None,
    ward_filter: int | None = None,
) -> Response:
    """Validate, log, commit, then move on to revisiting the EDD (or back to the patient).

    `standalone`: the form where the patient is chosen first; errors re-render that form.
    """
    shown = None if standalone else stay

    def again(errors: dict[str, str], status: int) -> Response:
        return _log_page(
            request, session, actor, now, stay=shown, values=form, errors=errors, ward_filter=ward_filter,
            status_code=status,
        )  # fmt: skip

    def log(data: forms.FailedDischargeForm, _: int) -> FailedDischarge:
        assert stay is not None  # a missing patient is one of stay_errors: no save
        fd, _causes = service.log_failed_discharge(session, actor=actor, stay=stay, data=data.to_create(), now=now)
        return fd

    def done(fd: FailedDischarge) -> Response:
        assert stay is not None
        if stay.discharged_at is not None or not allows(actor.role, Perm.WRITE_CLINICAL):
            return go_to(request, path_for(request, "show_patient", stay_id=stay.id), message="Failed discharge logged")
        edd = path_for(request, "revisit_edd", {"failed_discharge": fd.id}, stay_id=stay.id)
        return go_to(request, edd, message="Failed discharge logged")

    context = {
        "reasons": labels(session, "failed_discharge_reasons"),
        "roles": {r.code for r in _owner_roles(session)},
    }
    return write_form(
        session, form, forms.FailedDischargeForm, log, done=done, again=again, fields=forms.FORM_FIELD,
        errors=stay_errors, context=context,
    )  # fmt: skip


@router.get("/stays/{stay_id}/failed-discharges/new", name="failed_discharge_form_for_stay")
def new_for_stay(
    request: Request, stay_id: PathId, session: SessionDep, actor: CanLogFailedDischarge, now: Now
) -> Response:
    stay = stay_or_404(session, actor, stay_id)
    return _log_page(request, session, actor, now, stay=stay, values=_blank_values(now))


@router.post("/stays/{stay_id}/failed-discharges/new", name="failed_discharge_log_for_stay")
def log_for_stay(
    request: Request,
    stay_id: PathId,
    session: SessionDep,
    actor: CanLogFailedDischarge,
    form: FormData,
    now: Now,
) -> Response:
    stay = stay_or_404(session, actor, stay_id)
    return _record(request, session, actor, now, stay, form)


@router.get("/failed-discharges/new", name="failed_discharge_form")
def new_choosing_patient(request: Request, session: SessionDep, actor: CanLogFailedDischarge, now: Now) -> Response:
    ward_filter = _ward_param(request, actor)
    return _log_page(request, session, actor, now, stay=None, values=_blank_values(now), ward_filter=ward_filter)


@router.post("/failed-discharges/new", name="failed_discharge_log")
def log_choosing_patient(
    request: Request, session: SessionDep, actor: CanLogFailedDischarge, form: FormData, now: Now
) -> Response:
    ward_filter = forms.parse_id(form.get("ward"))
    if ward_filter is not None and not actor.can_access_ward(ward_filter):
        ward_filter = None
    stay_id = forms.parse_id(form.get("stay_id"))
    stay: Stay | None = None
    stay_errors: dict[str, str] = {}
    try:
        stay = stay_or_404(session, actor, stay_id) if stay_id else None
    except NotFound:
        stay = None  # another ward's patient looks exactly like no patient
    if stay is None:
        stay_errors["stay_id"] = "Select the patient"
    elif stay.discharged_at is not None:
        stay_errors["stay_id"] = "This patient has left hospital: log it from their record"
    return _record(
        request, session, actor, now, stay, form, standalone=True, stay_errors=stay_errors, ward_filter=ward_filter
    )


# Revisiting the expected discharge date ---------------------------------------------------


def _edd_page(
    request: Request,
    session: Session,
    stay: Stay,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    conflict: dict | None = None,
    failed: FailedDischarge | None = None,
    status_code: int = 200,
) -> Response:
    context = _patient_facts(session, stay) | {
        "values": values,
        "errors": errors or {},
        "conflict": conflict,
        "failed": failed,
        "cause_labels": labels(session, "failed_discharge_reasons"),
    }
    if failed is not None:
        context["failed_causes"] = queries.causes_by_failed_discharge(session, [failed.id])[failed.id]
    block = "edd_form" if wants_fragment(request, "edd-form") else None
    return vary(render(request, "discharges/edd.html", context, block_name=block, status_code=status_code))


def _failed_for(session: Session, stay: Stay, raw: object) -> FailedDischarge | None:
    fd_id = forms.parse_id(raw)
    fd = session.get(FailedDischarge, fd_id) if fd_id else None
    return fd if fd is not None and fd.stay_id == stay.id else None


@router.get("/stays/{stay_id}/edd", name="revisit_edd")
def revisit_edd(request: Request, stay_id: PathId, session: SessionDep, actor: CanWriteClinical, now: Now) -> Response:
    stay = stay_or_404(session, actor, stay_id)
    if stay.discharged_at is not None:
        return RedirectResponse(path_for(request, "show_patient", stay_id=stay.id), status_code=303)
    failed = _failed_for(session, stay, request.query_params.get("failed_discharge"))
    reason = ""
    if failed is not None:
        primary, _ = queries.causes_by_failed_discharge(session, [failed.id])[failed.id]
        label = labels(session, "failed_discharge_reasons").get(primary or "", primary or "")
        reason = f"Failed discharge: {label}"
    values = {
        "expected_discharge_date": stay.expected_discharge_date.isoformat() if stay.expected_discharge_date else "",
        "reason": reason,
        "stay_version": stay.version,
        "failed_discharge": failed.id if failed else "",
    }
    return _edd_page(request, session, stay, values=values, failed=failed)


@router.post("/stays/{stay_id}/edd", name="save_edd")
def save_edd(
    request: Request,
    stay_id: PathId,
    session: SessionDep,
    actor: CanWriteClinical,
    form: FormData,
    now: Now,
) -> Response:
    stay = stay_or_404(session, actor, stay_id)
    failed = _failed_for(session, stay, form.get("failed_discharge"))
    values = dict(form)
    refused: dict[str, str] = {}
    if failed is None and str(form.get("failed_discharge") or "").strip():
        # Our page only ever sends this patient's failed discharge: anything else (another
        # ward's, a missing one) is refused alike, and the save does not go ahead.
        refused = {"form": OUT_OF_DATE}
        values["failed_discharge"] = ""
    before = stay.expected_discharge_date

    def again(errors: dict[str, str], status: int) -> Response:
        if "form" in errors:
            values["stay_version"] = stay.version  # reloaded: the form is drawn again at this version
        return _edd_page(request, session, stay, values=values, errors=errors, failed=failed, status_code=status)

    def stale(_: StaleVersion) -> Response:
        # Keep what they typed; the new version lets them save it knowingly.
        values["stay_version"] = stay.version
        conflict = conflict_details(session, stay)
        return _edd_page(request, session, stay, values=values, conflict=conflict, failed=failed, status_code=409)

    def done(_: Stay) -> Response:
        changed = stay.expected_discharge_date != before
        message = "Expected discharge date changed" if changed else "Expected discharge date kept"
        return go_to(request, path_for(request, "show_patient", stay_id=stay.id), message=message)

    return write_form(
        session,
        form,
        forms.EddForm,
        lambda data, drawn_at: set_edd(
            session,
            actor=actor,
            stay=stay,
            new_date=data.expected_discharge_date,
            reason=data.reason,
            expected_version=drawn_at,
            now=now,
        ),  # fmt: skip
        version="stay_version",
        done=done,
        again=again,
        stale=stale,
        errors=refused,
    )


# The list, its follow-ups and its export -------------------------------------------------


def _filters(
    request: Request, session: Session, actor: Principal
) -> tuple[queries.Filters, dict[str, str], dict[str, str], list[Ward]]:
    wards = queries.wards_in_scope(session, actor)
    filters, values, errors = forms.parse_filters(
        request.query_params,
        ward_ids={w.id for w in wards},
        reasons=labels(session, "failed_discharge_reasons"),
    )
    return filters, values, errors, wards


def _query_string(values: Mapping[str, str], keys: Iterable[str] = forms.FILTER_KEYS) -> str:
    return urlencode([(k, values[k]) for k in keys if values.get(k)])


def _period_query(values: Mapping[str, str]) -> str:
    """Ward and dates for the chart and its CSV; blank dates kept, as "no limit" (not the default)."""
    pairs = [("ward", values["ward"])] if values.get("ward") else []
    pairs += [("date_from", values.get("date_from", "")), ("date_to", values.get("date_to", ""))]
    return urlencode(pairs)


def _list_page(
    request: Request,
    session: Session,
    actor: Principal,
    now: datetime,
    *,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    filters, values, errors, wards = _filters(request, session, actor)
    listing = queries.failed_discharges(session, actor, filters, now=now)
    query = _query_string(values)
    context = {
        "listing": listing,
        "values": values,
        "errors": errors,
        "wards": wards,
        "reasons": rows(session, "failed_discharge_reasons"),
        "cause_labels": labels(session, "failed_discharge_reasons"),
        "role_labels": labels(session, "roles"),
        "query": query,
        "chart_query": _period_query(values),
        "can_log": allows(actor.role, Perm.LOG_FAILED_DISCHARGE),
        "message": message,
        "now": now,
    }
    if errors and status_code == 200:
        status_code = 422
    return render(request, "discharges/list.html", context, status_code=status_code)


@router.get("/failed-discharges", name="failed_discharge_list")
def list_page(request: Request, session: SessionDep, actor: CanReadWard, now: Now) -> Response:
    done = forms.parse_id(request.query_params.get("done"))
    return _list_page(request, session, actor, now, message="Follow-up marked done" if done else None)


def _safe_back(raw: object) -> str:
    """Back to the list with the same filters; only our own filter keys survive."""
    pairs = [(k, v[:40]) for k, v in parse_qsl(str(raw or "")) if k in forms.FILTER_KEYS and v]
    return urlencode(pairs)


@router.post("/failed-discharges/{fd_id}/follow-up-done", name="failed_discharge_follow_up_done")
def mark_follow_up_done(
    request: Request,
    fd_id: PathId,
    session: SessionDep,
    actor: CanLogFailedDischarge,
    form: FormData,
    now: Now,
) -> Response:
    fd, stay = on_stay_or_404(session, actor, FailedDischarge, fd_id, "failed discharge")
    back = _safe_back(form.get("back"))

    def again(errors: dict[str, str], status: int) -> Response:
        return _list_page(request, session, actor, now, message=next(iter(errors.values())), status_code=status)

    def stale(_: StaleVersion) -> Response:
        event = last_change(session, "faileddischarge", fd.id)
        who = f"{event.actor_name} changed it at {_hhmm(event.occurred_at)}" if event else "Someone else changed it"
        message = f"{who} while you had this page open. Check the follow-up below, then try again."
        return _list_page(request, session, actor, now, status_code=409, message=message)

    def done(_: FailedDischarge) -> Response:
        url = path_for(request, "failed_discharge_list", "&".join(p for p in (back, f"done={fd.id}") if p))
        return go_to(request, url, message="Follow-up marked done")

    return write_form(
        session,
        form,
        FailedDischargeUpdate,
        lambda data, drawn_at: service.update_failed_discharge(
            session, actor=actor, fd=fd, stay=stay, data=data, expected_version=drawn_at, now=now
        ),
        version="version",
        values={"follow_up_done": True},
        done=done,
        again=again,
        stale=stale,
    )


def _hhmm(moment: datetime) -> str:
    return f"{london_time(moment):%H:%M}"


def london_iso(moment: datetime | None) -> str:
    """UTC in the database -> London local ISO time with its offset, e.g. 2026-07-01T11:30+01:00."""
    return london_time(moment).isoformat(timespec="minutes") if moment else ""


def _cell(value: object) -> str:
    """Spreadsheet-safe: a cell starting with = + - @ (or a control) is not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_response(header: list[str], body: Iterable[Iterable[object]], filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in body:
        writer.writerow([_cell(v) for v in row])
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# Patient identity in the export is the hospital number (MRN) only: enough to find the record in
# the PAS or in Boardround, no names, no NHS number, no free text (Caldicott: minimum necessary).
LIST_CSV_HEADER = [
    "id",
    "ward_code",
    "bed",
    "patient_mrn",
    "planned_for",
    "primary_cause",
    "causes",
    "avoidable",
    "follow_up_role",
    "follow_up_due",
    "follow_up_done",
    "logged_by",
    "logged_at",
]


def list_csv_rows(rows_: Iterable[queries.Row]) -> Iterable[list[object]]:
    for r in rows_:
        yield [
            r.id,
            r.ward_code,
            r.bed_label or "",
            r.patient_mrn,
            london_iso(r.planned_for),
            r.primary_cause or "",
            ";".join(r.causes),
            "yes" if r.avoidable else "no",
            r.follow_up_owner_role_code or "",
            london_iso(r.follow_up_due_at),
            london_iso(r.follow_up_done_at),
            r.logged_by,
            london_iso(r.logged_at),
        ]


@router.get("/failed-discharges.csv", name="failed_discharge_export")
def export_list(request: Request, session: SessionDep, actor: CanReadWard, now: Now) -> Response:
    filters, _, _, _ = _filters(request, session, actor)
    listing = queries.failed_discharges(session, actor, filters, now=now, limit=queries.EXPORT_LIMIT)
    name = f"failed-discharges-{london_date(now).isoformat()}.csv"
    return csv_response(LIST_CSV_HEADER, list_csv_rows(listing.rows), name)


# Causes: the Pareto chart ------------------------------------------------------------------


def _chart_data(
    request: Request, session: Session, actor: Principal, now: datetime
) -> tuple[queries.CauseSummary, list[causes.ParetoRow], dict[str, str], dict[str, str], list[Ward]]:
    params = dict(request.query_params)
    if "date_from" not in params and "date_to" not in params:
        # First visit: the last four weeks. A submitted blank date means "no limit".
        today = london_date(now)
        params |= {
            "date_from": (today - timedelta(days=DEFAULT_CHART_DAYS - 1)).isoformat(),
            "date_to": today.isoformat(),
        }
    wards = queries.wards_in_scope(session, actor)
    reason_labels = labels(session, "failed_discharge_reasons")
    filters, values, errors = forms.parse_filters(
        {k: params.get(k, "") for k in ("ward", "date_from", "date_to")},
        ward_ids={w.id for w in wards},
        reasons=reason_labels,
    )
    summary = queries.cause_summary(session, actor, filters, reason_labels)
    return summary, causes.pareto_rows(summary.counts), values, errors, wards


def _period_text(values: Mapping[str, str], wards: list[Ward]) -> str:
    ward = next((w for w in wards if str(w.id) == values.get("ward")), None)
    where = ward.name if ward else ("all your wards" if wards else "no wards")
    start, end = forms.parse_date(values.get("date_from", "")), forms.parse_date(values.get("date_to", ""))
    show = date_text
    if start and end:
        when = f"{show(start)} to {show(end)}"
    elif start:
        when = f"from {show(start)}"
    elif end:
        when = f"up to {show(end)}"
    else:
        when = "all dates"
    return f"{where}, {when}"


@router.get("/failed-discharges/causes", name="failed_discharge_causes")
def causes_page(request: Request, session: SessionDep, actor: CanReadWard, now: Now) -> Response:
    summary, pareto, values, errors, wards = _chart_data(request, session, actor, now)
    period = _period_text(values, wards)
    if pareto:
        top = pareto[0]
        description = (
            f"Bar chart of {len(pareto)} causes of failed discharges, {period}, sorted from most to least "
            f"frequent, with a line for the cumulative percentage. Most frequent: {top.label} "
            f"({top.count}, {charts.percent(top.percent)} of causes recorded). The table below gives every value."
        )
    else:
        description = f"No failed discharges were logged for {period}."
    chart = charts.pareto_svg(pareto, title=f"Causes of failed discharges, {period}", description=description)
    context = {
        "summary": summary,
        "pareto": pareto,
        "chart": chart,
        "period": period,
        "values": values,
        "errors": errors,
        "wards": wards,
        "percent": charts.percent,
        "query": _period_query(values),
        "primary_total": sum(r.primary for r in pareto),
        "mention_total": sum(r.count for r in pareto),
    }
    return render(request, "discharges/causes.html", context, status_code=422 if errors else 200)


CAUSES_CSV_HEADER = [
    "rank",
    "cause_code",
    "cause",
    "count",
    "primary_count",
    "percent_of_all",
    "cumulative_percent",
]


@router.get("/failed-discharges/causes.csv", name="failed_discharge_causes_export")
def export_causes(request: Request, session: SessionDep, actor: CanReadWard, now: Now) -> Response:
    _, pareto, values, _, _ = _chart_data(request, session, actor, now)
    body = (
        [r.rank, r.code, r.label, r.count, r.primary, f"{r.percent:.1f}", f"{r.cumulative_percent:.1f}"] for r in pareto
    )
    # The name from the dates as understood, never as typed (it goes into a header).
    start, end = (forms.parse_date(values.get(k, "")) for k in ("date_from", "date_to"))
    first, last = start.isoformat() if start else "start", end.isoformat() if end else "end"
    return csv_response(CAUSES_CSV_HEADER, body, f"failed-discharge-causes-{first}-to-{last}.csv")
