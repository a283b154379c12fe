"""Routes added by the day-one screens (admit, move, discharge, correct, bed states, the ward
list upload, hospital set-up), with the permission each needs.

Merged into tests/security/test_permissions.py (PAGES). Ward scope: tests/stays/test_day_one_pages.py
and the PROBES in test_ids_in_requests.py.
"""

from __future__ import annotations

from app.auth.permissions import Perm

PAGES: dict[tuple[str, str], Perm] = {
    ("GET", "/beds/{bed_id}/admit"): Perm.MANAGE_STAY,
    ("POST", "/beds/{bed_id}/admit"): Perm.MANAGE_STAY,
    ("GET", "/stays/{stay_id}/move"): Perm.MANAGE_STAY,
    ("POST", "/stays/{stay_id}/move"): Perm.MANAGE_STAY,
    ("GET", "/stays/{stay_id}/discharge"): Perm.MANAGE_STAY,
    ("POST", "/stays/{stay_id}/discharge"): Perm.MANAGE_STAY,
    ("GET", "/stays/{stay_id}/correct"): Perm.CORRECT_STAY,  # a current stay: its admission time only
    ("POST", "/stays/{stay_id}/correct"): Perm.CORRECT_STAY,
    ("GET", "/wards/{code}/discharged"): Perm.READ_WARD,
    ("GET", "/beds/{bed_id}/state"): Perm.MANAGE_BED_STATE,
    ("POST", "/beds/{bed_id}/state"): Perm.MANAGE_BED_STATE,
    ("GET", "/wards/{code}/ward-list"): Perm.IMPORT_WARD_LIST,
    ("POST", "/wards/{code}/ward-list"): Perm.IMPORT_WARD_LIST,
    ("POST", "/wards/{code}/ward-list/apply"): Perm.IMPORT_WARD_LIST,
    ("GET", "/admin/hospital"): Perm.MANAGE_WARD,
    ("POST", "/admin/sites"): Perm.SETUP_HOSPITAL,
    ("POST", "/admin/wards"): Perm.MANAGE_WARD,  # and a site-wide role (ward managers: 403)
    ("GET", "/admin/wards/{ward_id}"): Perm.MANAGE_WARD,
    ("POST", "/admin/wards/{ward_id}"): Perm.MANAGE_WARD,
    ("POST", "/admin/wards/{ward_id}/beds"): Perm.MANAGE_WARD,
    ("GET", "/admin/beds/{bed_id}"): Perm.MANAGE_WARD,
    ("POST", "/admin/beds/{bed_id}"): Perm.MANAGE_WARD,
}
