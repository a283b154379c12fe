"""Header navigation: only the places the signed-in person's role can use."""

from __future__ import annotations

from app.auth.permissions import Perm, allows
from app.core.principal import Principal

# (permission needed, path, label); None: everyone signed in.
LINKS: list[tuple[Perm | None, str, str]] = [
    (Perm.READ_WARD, "/", "Wards"),
    (Perm.READ_WARD, "/escalations", "Escalations"),
    (Perm.READ_WARD, "/failed-discharges", "Failed discharges"),
    (Perm.READ_SITE, "/flow", "Flow"),
    (Perm.READ_SITE, "/metrics", "Metrics"),
    (Perm.READ_AUDIT, "/audit", "Audit"),
    (Perm.MANAGE_USERS, "/admin/users", "Users"),
]


def navigation_for(principal: Principal | None) -> list[dict[str, str]]:
    if principal is None:
        return []
    return [
        {"href": path, "text": label} for perm, path, label in LINKS if perm is None or allows(principal.role, perm)
    ]
