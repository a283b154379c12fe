"""A person's alerts: the list, marking read, their settings, and the header's live count."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from app.alerts import service
from app.alerts.rules import RULES
from app.alerts.schemas import CHOICE_LABELS, PreferencesUpdate
from app.auth.deps import CanReceiveAlerts
from app.core.params import Now, PathId
from app.core.principal import Principal
from app.db import SessionDep
from app.models import Alert, Ward
from app.web.form_writes import NoFields, write_form
from app.web.forms import FormData
from app.web.htmx import go_to, vary
from app.web.sse import StreamTurn, change_stream, watching
from app.web.templating import render
from app.web.urls import path_for

router = APIRouter(include_in_schema=False)


class UpTo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    up_to: Annotated[int, Field(ge=0, le=2_147_483_647)] = 0


def _link(request: Request, alert: Alert) -> str:
    try:
        return path_for(request, alert.link_route, **alert.link_params)
    except Exception:  # noqa: BLE001 - a route renamed since the alert was made: the list still opens
        return path_for(request, "list_alerts")


def _list_page(
    request: Request, session: Session, actor: Principal, *, errors: dict | None = None, status_code: int = 200
) -> Response:
    alerts = service.inbox(session, actor.user_id)
    context = {
        "alerts": [(a, _link(request, a)) for a in alerts],
        "unread": sum(1 for a in alerts if a.read_at is None),
        "newest": max((a.id for a in alerts), default=0),
        "errors": errors or {},
    }
    return render(request, "alerts/list.html", context, status_code=status_code)


@router.get("/alerts", name="list_alerts")
def list_alerts(request: Request, session: SessionDep, actor: CanReceiveAlerts) -> Response:
    return _list_page(request, session, actor)


@router.post("/alerts/read", name="read_all_alerts")
def read_all_alerts(
    request: Request, session: SessionDep, actor: CanReceiveAlerts, form: FormData, now: Now
) -> Response:
    """Marks read what the list showed (ids up to the newest shown): no version, none replaced."""
    return write_form(
        session,
        form,
        UpTo,
        lambda data, _: service.mark_all_read(session, actor=actor, up_to=data.up_to, now=now),
        done=lambda _: go_to(request, path_for(request, "list_alerts"), message="Alerts marked as read"),
        again=lambda errors, status: _list_page(request, session, actor, errors=errors, status_code=status),
    )


@router.post("/alerts/{alert_id}/read", name="read_alert")
def read_alert(
    request: Request, alert_id: PathId, session: SessionDep, actor: CanReceiveAlerts, form: FormData, now: Now
) -> Response:
    alert = service.alert_or_404(session, actor, alert_id)
    return write_form(
        session,
        form,
        NoFields,
        lambda _data, drawn_at: service.mark_read(
            session, actor=actor, alert=alert, expected_version=drawn_at, now=now
        ),
        version="version",
        done=lambda _: go_to(request, path_for(request, "list_alerts"), message="Alert marked as read"),
        again=lambda errors, status: _list_page(request, session, actor, errors=errors, status_code=status),
    )


@router.get("/alerts/count", name="alert_count")
def alert_count(request: Request, session: SessionDep, actor: CanReceiveAlerts) -> Response:
    """The header's link with the unread count, fetched on load and on each alert notice."""
    count = service.unread_count(session, actor.user_id)
    return vary(render(request, "alerts/_count.html", {"count": count}))


def _watched_wards(session: Session, actor: Principal) -> list[int]:
    if actor.site_wide:
        return list(session.exec(select(Ward.id)))
    return sorted(actor.ward_ids)


@router.get("/alerts/events", name="alert_events", dependencies=[StreamTurn])
async def alert_events(request: Request, session: SessionDep, actor: CanReceiveAlerts) -> Response:
    wards = await run_in_threadpool(_watched_wards, session, actor)
    await watching(request, session)
    return change_stream(request, wards, "alerts-changed", kind=service.ALERT_NOTICE)


def _settings_page(
    request: Request,
    session: Session,
    actor: Principal,
    *,
    errors: dict | None = None,
    values: dict | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    prefs = service.preferences(session, actor.user_id)
    if values is None:
        values = {
            "email": prefs.email if prefs else "",
            "version": prefs.version if prefs else 0,
            "choices": {code: service.choice_for(prefs, code) for code in RULES},
        }
    context = {
        "rules": list(RULES.values()),
        "choice_labels": CHOICE_LABELS,
        "values": values,
        "errors": errors or {},
        "message": message,
    }
    return render(request, "alerts/settings.html", context, status_code=status_code)


@router.get("/alerts/settings", name="alert_settings")
def show_alert_settings(request: Request, session: SessionDep, actor: CanReceiveAlerts) -> Response:
    return _settings_page(request, session, actor)


@router.post("/alerts/settings", name="save_alert_settings")
def save_alert_settings(
    request: Request, session: SessionDep, actor: CanReceiveAlerts, form: FormData, now: Now
) -> Response:
    values = {
        "email": form.get("email", ""),
        "choices": {code: form[f"choice_{code}"] for code in RULES if isinstance(form.get(f"choice_{code}"), str)},
    }
    shown = values | {"version": form.get("version", "")}

    def again(errors: dict[str, str], status: int) -> Response:
        return _settings_page(request, session, actor, errors=errors, values=shown, status_code=status)

    return write_form(
        session,
        form,
        PreferencesUpdate,
        lambda data, drawn_at: service.save_preferences(
            session, actor=actor, data=data, expected_version=drawn_at, now=now
        ),
        # No settings yet: the form creates them (a second tab that saved first makes this one stale).
        version="version" if service.preferences(session, actor.user_id) else None,
        values=values,
        fields={"choices": "form"},
        done=lambda _: _settings_page(request, session, actor, message="Alert settings saved"),
        again=again,
    )
