"""Routes added by the site flow and metrics work, with the permission each needs.

Merged into tests/security/test_permissions.py (PAGES and ROUTES). Every route needs Perm.READ_SITE;
ward scope (a ward manager or sponsor sees only their wards) is tested in tests/metrics/.
"""

from __future__ import annotations

from app.auth.permissions import Perm

PAGES: dict[tuple[str, str], Perm] = {
    ("GET", "/flow"): Perm.READ_SITE,
    ("GET", "/flow/table"): Perm.READ_SITE,
    ("GET", "/flow/events"): Perm.READ_SITE,  # server-sent events: the matrix test reads the status only
    ("GET", "/flow/patients"): Perm.READ_SITE,  # without ?measure= an allowed role gets 422
    ("GET", "/metrics"): Perm.READ_SITE,
    ("GET", "/metrics/table"): Perm.READ_SITE,  # without ?table= an allowed role gets 422
    ("GET", "/metrics/csv"): Perm.READ_SITE,  # without ?table= an allowed role gets 422
}

API: dict[tuple[str, str], Perm] = {
    ("GET", "/api/v1/metrics"): Perm.READ_SITE,
    ("GET", "/api/v1/metrics/flow"): Perm.READ_SITE,
    ("GET", "/api/v1/metrics/nctr-snapshot"): Perm.READ_SITE,
    ("GET", "/api/v1/metrics/nctr-snapshot.csv"): Perm.READ_SITE,
    ("GET", "/api/v1/metrics/drd-extract"): Perm.READ_SITE,
    ("GET", "/api/v1/metrics/drd-extract.csv"): Perm.READ_SITE,
}
