"""Render docs/permissions.md from the matrix: `python -m app.auth.permissions_doc > docs/permissions.md`.

A test compares the file with this output, so the document cannot drift from the code.
"""

from __future__ import annotations

from app.auth.permissions import MATRIX, Perm

DESCRIPTIONS = {
    Perm.READ_WARD: "See ward boards, patients, stays, reviews, actions, escalations on the wards in scope",
    Perm.SETUP_HOSPITAL: "Create and rename sites (setting up the hospital)",
    Perm.MANAGE_WARD: "Create wards (site-wide roles) and beds; relabel, reorder and retire beds",
    Perm.MANAGE_BED_STATE: "Open and close beds (with a reason), mark them awaiting cleaning, reserve them",
    Perm.WRITE_PATIENT: "Register patients and correct demographics",
    Perm.MANAGE_STAY: "Admit, transfer and discharge",
    Perm.IMPORT_WARD_LIST: "Import the PAS ward list (CSV): preview, then admit, move and discharge",
    Perm.CORRECT_STAY: "Correct a discharged stay (with a reason; audited)",
    Perm.WRITE_CLINICAL: "Record the daily criteria-to-reside review, EDD, CCD, pathway, plan and actions",
    Perm.LATE_REVIEW: "Record a missed day's review afterwards (a late entry, with a reason; audited)",
    Perm.RUN_ROUND: "Start, run and end the midday board round",
    Perm.LOG_FAILED_DISCHARGE: "Log failed discharges and their follow-up",
    Perm.RAISE_ESCALATION: "Escalate a blocker",
    Perm.ACT_ESCALATION: "Acknowledge, escalate further and resolve escalations",
    Perm.READ_SITE: "Site-wide flow overview and metrics",
    Perm.READ_AUDIT: "Audit viewer (ward managers: their wards only)",
    Perm.MANAGE_USERS: "Manage users, ward assignments and integration tokens; see and end signed-in sessions",
    Perm.SUBMIT_HL7: "Send HL7 v2 ADT messages from the PAS",
    Perm.RECEIVE_ALERTS: "Own alerts (what is overdue for their role on their wards) and alert settings",
    Perm.READ_HUB: "Transfer-of-care hub list: patients on pathways 1-3 or with an open referral",
}

SITE_WIDE = {"flow_coordinator", "admin", "integration", "transfer_hub"}

# Day-one tasks and the permission each needs (docs/setup.md says how to do them).
TASKS = [  # (task, permission, who, where on the screens)
    (
        "Set up the hospital: sites",
        Perm.SETUP_HOSPITAL,
        "administrators; or `boardround setup FILE`",
        "Set-up (`/admin/hospital`)",
    ),
    (
        "Set up wards",
        Perm.MANAGE_WARD,
        "site-wide roles create them; ward managers edit their own",
        "Set-up; the board's “Ward and beds”",
    ),
    (
        "Add, relabel, reorder and retire beds",
        Perm.MANAGE_WARD,
        "ward managers on their wards",
        "Set-up, a ward, a bed (a bed with a patient in it cannot be removed)",
    ),
    (
        "Admit, transfer and discharge",
        Perm.MANAGE_STAY,
        "ward staff on their wards; flow coordinators site-wide",
        "The board: a bed's label opens its page: “Admit”, or “Move” and “Discharge”",
    ),
    (
        "Correct a wrong admission or discharge time",
        Perm.CORRECT_STAY,
        "after discharge, with a reason",
        "The board's “Recent discharges”, “Correct”; in hospital: the bed's “Correct admission”",
    ),
    (
        "Import the PAS ward list",
        Perm.IMPORT_WARD_LIST,
        "ward managers their wards; flow coordinators any ward",
        "The board's “Import ward list”: upload, preview, apply",
    ),
    (
        "Manage bed states",
        Perm.MANAGE_BED_STATE,
        "nurses and ward managers their wards; flow site-wide",
        "The board: a bed's label opens its page and its state",
    ),
    (
        "Record a missed day's review",
        Perm.LATE_REVIEW,
        "senior roles, up to 7 days back, with a reason",
        "The API (`POST /api/v1/stays/{id}/reviews` with `review_date`)",
    ),
]


def render_markdown() -> str:
    roles = sorted(MATRIX)
    lines = [
        "# Permissions",
        "",
        "Generated from `app/auth/permissions.py` by `python -m app.auth.permissions_doc`; a test keeps",
        "this file and the code identical. Enforced on the server for every route, HTML and JSON alike.",
        "",
        "**Ward scope.** Every permission applies only to the wards a user is assigned to, except for",
        f"site-wide roles ({', '.join(sorted(SITE_WIDE))}), which see every ward. A record on a ward",
        "outside a user's scope answers 404, exactly as if it did not exist.",
        "",
        "**Ids in requests.** The same holds for every id a request carries, in a JSON body or a form",
        "as well as in the path (a patient to admit, a bed, a ward to transfer to, a board round, a",
        "sponsor): one outside the user's scope is refused exactly as a missing one (404, or a 422",
        "field error), and error messages, 409 conflicts included, name only records the user could",
        "read. A patient is in a ward-scoped user's scope once they have had a stay on one of the",
        "user's wards; a colleague, once they share a ward. Ward staff admit a patient from elsewhere",
        "in the hospital by the identifiers they hold (NHS number, hospital number, name, date of",
        "birth), not by id; site-wide roles and the PAS may use ids (docs/adr/0007).",
        "",
        "| Permission | What it allows | " + " | ".join(roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for perm in Perm:
        marks = " | ".join("yes" if perm in MATRIX[role] else "" for role in roles)
        lines.append(f"| `{perm.value}` | {DESCRIPTIONS[perm]} | {marks} |")
    lines += [
        "",
        "## Day-one tasks",
        "",
        "| Task | Permission | Who | Where |",
        "|---|---|---|---|",
    ]
    for task, perm, note, where in TASKS:
        who = ", ".join(role for role in roles if perm in MATRIX[role] and role != "integration")
        lines.append(f"| {task} | `{perm.value}` | {who} ({note}) | {where} |")
    lines += [
        "",
        "Anyone signed in may read the reference lists (criteria, delay reasons, pathways...).",
        "Anonymous users reach only the sign-in page, static assets, `/healthz` and the OpenAPI schema.",
        "Integration (service) accounts authenticate with API tokens only and cannot sign in to pages.",
        "",
        "**Care transfer hub and social care partners** (`transfer_hub`) see only the transfer-of-care",
        "hub list (`/hub`, `GET /api/v1/hub`): every ward's patients on discharge pathways 1-3 or with",
        "an open referral, shown by initials, age, ward and bed (no name, NHS number, hospital number",
        "or date of birth), with their referrals, milestones and next action. Every board, patient page",
        "and patient or stay API answers them 403, so they cannot read any other patient, nor more about",
        "these ones. Ward managers see the hub list for their own wards, flow coordinators for all.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown(), end="")
