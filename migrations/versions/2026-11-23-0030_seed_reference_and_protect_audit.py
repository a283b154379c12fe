"""seed reference lists and make the audit trail append-only

Reference lists are data with stable codes (see ../shared/domain.md). Labels are paraphrased
from the national sources; the delay-reason families are verified, several individual labels
only partially (domain.md 5.3c), hence `source` on each row.

Revision ID: 5eedref0001
Revises: 5eb5d20bd443
Create Date: 2026-11-23 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5eedref0001"
down_revision: str | Sequence[str] | None = "5eb5d20bd443"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CRITERIA = [
    ("01", "Needs critical care or high-dependency care (ITU/HDU)"),
    ("02", "Needs oxygen therapy or non-invasive ventilation (NIV)"),
    ("03", "Needs intravenous fluids"),
    ("04", "NEWS2 above 3 (clinical judgement for AF or chronic respiratory disease)"),
    ("05", "Reduced level of consciousness where recovery is realistic"),
    ("06", "Acute loss of function beyond what home or community care can provide"),
    ("07", "In the last hours of life"),
    ("08", "Needs IV medication more than twice daily (including analgesia)"),
    ("09", "Lower-limb surgery within the past 48 hours"),
    ("10", "Thoraco-abdominal or pelvic surgery within the past 72 hours"),
    ("11", "Invasive procedure within 24 hours with risk of acute deterioration"),
    ("12", "Meets criteria to reside: specific criterion not recorded"),
]

FAMILIES = [
    ("hospital_process", "Hospital process"),
    ("care_transfer_hub", "Care transfer hub process"),
    ("interface", "Interface process"),
    ("capacity", "Capacity"),
    ("wellbeing", "Wellbeing concerns"),
]

SITREP = "Acute discharge sitrep 2024/25 (family verified; label paraphrased)"
DELAY_REASONS = [
    ("HP01", "hospital_process", "Awaiting medical review or decision"),
    ("HP02", "hospital_process", "Awaiting formal decision to discharge"),
    ("HP03", "hospital_process", "Awaiting discharge letter or summary"),
    ("HP04", "hospital_process", "Awaiting medicines to take home (TTO)"),
    ("HP05", "hospital_process", "Awaiting therapy review of need for supported discharge"),
    ("HP06", "hospital_process", "Awaiting referral to the care transfer hub"),
    ("HP07", "hospital_process", "Awaiting patient transport"),
    ("HP08", "hospital_process", "Awaiting diagnostic test or result"),
    ("CTH01", "care_transfer_hub", "Waiting for confirmation of immediate care needs and pathway"),
    ("IP01", "interface", "Home-based rehabilitation, reablement or recovery arrangements underway (Pathway 1)"),
    ("IP02", "interface", "Bed-based rehabilitation, reablement or recovery arrangements underway (Pathway 2)"),
    ("IP03", "interface", "Residential or nursing home care arrangements still underway"),
    ("IP04", "interface", "Awaiting funding eligibility decision (including fast-track CHC)"),
    ("IP05", "interface", "Discharge destination not yet ready"),
    ("IP06", "interface", "Out-of-area discharge arrangements underway"),
    ("IP07", "interface", "Further action requested by the agreed provider"),
    ("CAP01", "capacity", "Home-based rehabilitation, reablement or recovery not yet available (Pathway 1)"),
    ("CAP02", "capacity", "Bed-based rehabilitation, reablement or recovery not yet available (Pathway 2)"),
    ("CAP03", "capacity", "Residential or nursing home care not yet available"),
    ("CAP04", "capacity", "Home-based social care not yet available"),
    ("CAP05", "capacity", "Home-based community health care not yet available"),
    ("CAP06", "capacity", "Mental health admitted care not yet available"),
    ("CAP07", "capacity", "Community equipment not yet available"),
    ("CAP08", "capacity", "Housing adaptations or provision not yet available"),
    ("WB01", "wellbeing", "Patient, family or carer concerns over discharge readiness"),
    ("WB02", "wellbeing", "Patient, family or carer choice"),
    ("WB03", "wellbeing", "Awaiting mental capacity assessment"),
    ("WB04", "wellbeing", "Safeguarding concern or Court of Protection"),
    ("WB05", "wellbeing", "Homeless, no recourse to public funds or no place to discharge to"),
]

FAILED_DISCHARGE_REASONS = [
    ("medicines", "Medicines to take home not ready", "hospital_process"),
    ("transport", "Transport not booked, late or cancelled", "hospital_process"),
    ("documentation", "Discharge summary or decision outstanding", "hospital_process"),
    ("clinical_change", "Deteriorated or meets criteria to reside again", None),
    ("therapy", "Therapy assessment not done", "hospital_process"),
    ("diagnostics", "Awaiting test or result", "hospital_process"),
    ("package_of_care", "Package of care not in place", "capacity"),
    ("intermediate_care", "Reablement slot or rehabilitation bed not available", "capacity"),
    ("care_home", "Care home placement not ready", "interface"),
    ("equipment_housing", "Equipment, adaptations or housing not ready", "capacity"),
    ("funding", "Funding decision outstanding (CHC or local authority)", "interface"),
    ("patient_family", "Patient or family choice, disagreement or not ready", "wellbeing"),
    ("safeguarding_legal", "Safeguarding, mental capacity or legal process", "wellbeing"),
    ("care_transfer_hub", "Care transfer hub referral not received or actioned", "care_transfer_hub"),
    ("receiving_provider", "Receiving provider not ready or asked for more information", "interface"),
    ("infection_control", "Infection control (outbreak or closed home)", None),
]

RED_DAY_REASONS = [
    ("test_not_done", "Planned investigation or procedure did not happen"),
    ("therapy_not_done", "Planned assessment or therapy did not happen"),
    ("care_not_acute", "Care given today did not need an acute bed"),
    ("result_not_actioned", "Result not reviewed or acted on"),
    ("no_edd", "No consultant-approved expected discharge date"),
    ("no_ccd", "No consultant-approved clinical criteria for discharge"),
    ("tto_not_ready", "Due home but medicines to take home not ready"),
    ("transport", "Transport delayed or cancelled the discharge"),
    ("no_senior_review", "No senior review today"),
    ("mdt_absent", "Team members needed for decisions not at the round"),
    ("waiting_external", "Waiting for a service outside the hospital"),
]

PATHWAYS = [
    (0, "Pathway 0: home, no new support", "Home or usual residence with no new or additional health or social care."),
    (
        1,
        "Pathway 1: home with support",
        "Home with new or additional health or social care (reablement, rehabilitation, restarted lapsed package).",
    ),
    (
        2,
        "Pathway 2: community bed",
        "Short-term community bed with recovery support before going home or to longer-term care.",
    ),
    (3, "Pathway 3: care home", "Care home placement for people with the most complex needs."),
]

# code, label, site_wide, can_sign_in
ROLES = [
    ("nurse", "Nurse", False, True),
    ("doctor", "Doctor", False, True),
    ("therapist", "Therapist (physiotherapist or occupational therapist)", False, True),
    ("social_worker", "Social worker", False, True),
    ("flow_coordinator", "Discharge or flow coordinator", True, True),
    ("ward_manager", "Ward manager", False, True),
    ("executive_sponsor", "Executive sponsor", False, True),
    ("admin", "Administrator", True, True),
    ("integration", "Integration (service account)", True, False),
    ("pharmacist", "Pharmacist", False, False),
]

DESTINATIONS = [
    ("19", "Usual place of residence"),
    ("29", "Temporary place of residence"),
    ("51", "NHS hospital provider: ward for general patients"),
    ("54", "NHS-run care home"),
    ("55", "Care home with nursing"),
    ("56", "Care home without nursing"),
    ("65", "Local authority residential accommodation"),
    ("79", "Patient died"),
    ("87", "Independent sector hospital"),
    ("88", "Hospice"),
    ("98", "Not applicable (spell not finished)"),
    ("99", "Not known"),
]

LEVELS = [
    (1, "ward_manager", "Ward manager", 120),
    (2, "site_flow", "Site flow team", 240),
    (3, "executive_sponsor", "Executive sponsor", 480),
]


def _ref(name: str, *columns: sa.Column) -> sa.Table:
    return sa.table(name, *columns)


def _insert_missing(table: sa.Table, rows: list[dict]) -> None:
    """Insert the rows whose code is not there yet (re-running after a downgrade keeps old rows)."""
    present = {row[0] for row in op.get_bind().execute(sa.select(table.c.code))}
    missing = [row for row in rows if row["code"] not in present]
    if missing:
        op.bulk_insert(table, missing)


def upgrade() -> None:
    c = sa.column
    _insert_missing(
        _ref("criterion", c("code"), c("label"), c("sort_order"), c("active")),
        [{"code": k, "label": v, "sort_order": i, "active": True} for i, (k, v) in enumerate(CRITERIA)],
    )
    _insert_missing(
        _ref("delayreasonfamily", c("code"), c("label"), c("sort_order"), c("active")),
        [{"code": k, "label": v, "sort_order": i, "active": True} for i, (k, v) in enumerate(FAMILIES)],
    )
    _insert_missing(
        _ref("delayreason", c("code"), c("family_code"), c("label"), c("sort_order"), c("active"), c("source")),
        [
            {"code": k, "family_code": f, "label": v, "sort_order": i, "active": True, "source": SITREP}
            for i, (k, f, v) in enumerate(DELAY_REASONS)
        ],
    )
    _insert_missing(
        _ref("faileddischargereason", c("code"), c("label"), c("family_code"), c("sort_order"), c("active")),
        [
            {"code": k, "label": v, "family_code": f, "sort_order": i, "active": True}
            for i, (k, v, f) in enumerate(FAILED_DISCHARGE_REASONS)
        ],
    )
    _insert_missing(
        _ref("reddayreason", c("code"), c("label"), c("sort_order"), c("active")),
        [{"code": k, "label": v, "sort_order": i, "active": True} for i, (k, v) in enumerate(RED_DAY_REASONS)],
    )
    _insert_missing(
        _ref("pathway", c("code"), c("label"), c("description"), c("sort_order"), c("active")),
        [{"code": k, "label": v, "description": d, "sort_order": k, "active": True} for k, v, d in PATHWAYS],
    )
    _insert_missing(
        _ref("staffrole", c("code"), c("label"), c("site_wide"), c("can_sign_in"), c("sort_order"), c("active")),
        [
            {"code": k, "label": v, "site_wide": s, "can_sign_in": si, "sort_order": i, "active": True}
            for i, (k, v, s, si) in enumerate(ROLES)
        ],
    )
    _insert_missing(
        _ref("dischargedestination", c("code"), c("label"), c("sort_order"), c("active")),
        [{"code": k, "label": v, "sort_order": i, "active": True} for i, (k, v) in enumerate(DESTINATIONS)],
    )
    _insert_missing(
        _ref(
            "escalationlevel",
            c("code"),
            c("name"),
            c("label"),
            c("response_target_minutes"),
            c("sort_order"),
            c("active"),
        ),
        [
            {"code": k, "name": n, "label": v, "response_target_minutes": t, "sort_order": k, "active": True}
            for k, n, v, t in LEVELS
        ],
    )

    # The audit trail is append-only: the database itself refuses UPDATE and DELETE.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION auditevent_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'auditevent is append-only';
            END $$;
            """
        )
        op.execute(
            "CREATE TRIGGER auditevent_append_only BEFORE UPDATE OR DELETE ON auditevent "
            "FOR EACH ROW EXECUTE FUNCTION auditevent_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER auditevent_no_{verb.lower()} BEFORE {verb} ON auditevent "
                "BEGIN SELECT RAISE(ABORT, 'auditevent is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER auditevent_append_only ON auditevent")
        op.execute("DROP FUNCTION auditevent_append_only()")
    else:
        op.execute("DROP TRIGGER auditevent_no_update")
        op.execute("DROP TRIGGER auditevent_no_delete")
    # The reference rows stay: patients' stays and users point at them, and the previous
    # revision's downgrade drops the tables with everything in them.
