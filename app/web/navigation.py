"""Header navigation: only the places the signed-in person's role can use."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from app.auth.permissions import Perm, allows
from app.core.principal import Principal
from app.web.urls import path_for

# (permission needed, route name, label); None: everyone signed in.
LINKS: list[tuple[Perm | None, str, str]] = [
    (Perm.READ_WARD, "home", "Wards"),
    (Perm.READ_WARD, "escalation_ladder", "Escalations"),
    (Perm.READ_WARD, "failed_discharge_list", "Failed discharges"),
    (Perm.READ_HUB, "hub", "Hub"),
    (Perm.READ_SITE, "show_flow", "Flow"),
    (Perm.READ_SITE, "show_metrics", "Metrics"),
    (Perm.READ_AUDIT, "audit", "Audit"),
    (Perm.MANAGE_WARD, "hospital_setup", "Set-up"),
    (Perm.MANAGE_USERS, "list_users", "Users"),
]


def receives_alerts(principal: Principal | None) -> bool:
    """The header's alerts link and count (app/views/alerts.py)."""
    return principal is not None and allows(principal.role, Perm.RECEIVE_ALERTS)


def navigation_for(request: HTTPConnection, principal: Principal | None) -> list[dict[str, str]]:
    if principal is None:
        return []
    return [
        {"href": path_for(request, route), "text": label}
        for perm, route, label in LINKS
        if perm is None or allows(principal.role, perm)
    ]
