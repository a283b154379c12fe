"""Routes added by the alerts work, with the permission each needs.

Merged into tests/security/test_permissions.py (PAGES). Everyone who signs in has
Perm.RECEIVE_ALERTS; each person sees and marks only their own alerts (another's answers 404:
tests/alerts/test_views.py).
"""

from __future__ import annotations

from app.auth.permissions import Perm

PAGES: dict[tuple[str, str], Perm] = {
    ("GET", "/alerts"): Perm.RECEIVE_ALERTS,
    ("GET", "/alerts/count"): Perm.RECEIVE_ALERTS,
    ("GET", "/alerts/events"): Perm.RECEIVE_ALERTS,  # server-sent events: the matrix test reads the status only
    ("GET", "/alerts/settings"): Perm.RECEIVE_ALERTS,
    ("POST", "/alerts/settings"): Perm.RECEIVE_ALERTS,
    ("POST", "/alerts/read"): Perm.RECEIVE_ALERTS,
    ("POST", "/alerts/{alert_id}/read"): Perm.RECEIVE_ALERTS,
}
