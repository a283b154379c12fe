"""The permission matrix: which role may read or change what. The one place it lives.

Ward scope is separate: a role's permissions apply only to the wards the user is assigned to,
unless the role is site-wide (reference data `staffrole.site_wide`). docs/permissions.md is
generated from this table by `boardround permissions`.
"""

from __future__ import annotations

from enum import StrEnum


class Perm(StrEnum):
    READ_WARD = "ward:read"  # boards, patients, stays, reviews on the user's wards
    SETUP_HOSPITAL = "hospital:setup"  # create and rename sites
    MANAGE_WARD = "ward:manage"  # create wards and beds, relabel, reorder and retire beds
    MANAGE_BED_STATE = "bed:state"  # open, close, awaiting cleaning, reserve
    WRITE_PATIENT = "patient:write"  # register and update demographics
    MANAGE_STAY = "stay:manage"  # admit, transfer, discharge
    IMPORT_WARD_LIST = "ward_list:import"  # admit, move and discharge from the PAS ward list (CSV)
    CORRECT_STAY = "stay:correct"  # audited correction of a discharged stay
    WRITE_CLINICAL = "clinical:write"  # daily review, EDD, CCD, pathway, plan, actions
    LATE_REVIEW = "review:late"  # record a missed day's review afterwards, with a reason
    RUN_ROUND = "round:run"  # start, step through and end a board round
    LOG_FAILED_DISCHARGE = "failed_discharge:write"
    RAISE_ESCALATION = "escalation:raise"
    ACT_ESCALATION = "escalation:act"  # acknowledge, escalate further, resolve
    READ_SITE = "site:read"  # site-wide flow overview and metrics
    READ_AUDIT = "audit:read"
    MANAGE_USERS = "user:manage"
    SUBMIT_HL7 = "hl7:submit"
    RECEIVE_ALERTS = "alerts:receive"  # own alerts and alert settings (what is overdue on their wards)
    READ_HUB = "hub:read"  # the transfer-of-care hub list: pathways 1-3 and open referrals


_CLINICAL_TEAM = {
    Perm.READ_WARD,
    Perm.RECEIVE_ALERTS,
    Perm.WRITE_CLINICAL,
    Perm.RUN_ROUND,
    Perm.LOG_FAILED_DISCHARGE,
    Perm.RAISE_ESCALATION,
}

# Senior decision makers may fill in a missed day's review: the doctor who made the decision, the
# ward manager (nurse in charge) and the discharge team who keep the discharge-ready dates.
MATRIX: dict[str, frozenset[Perm]] = {
    "nurse": frozenset(_CLINICAL_TEAM | {Perm.WRITE_PATIENT, Perm.MANAGE_STAY, Perm.MANAGE_BED_STATE}),
    "doctor": frozenset(_CLINICAL_TEAM | {Perm.LATE_REVIEW}),
    "therapist": frozenset(_CLINICAL_TEAM),
    "social_worker": frozenset(_CLINICAL_TEAM),
    "ward_manager": frozenset(
        _CLINICAL_TEAM
        | {
            Perm.WRITE_PATIENT,
            Perm.MANAGE_STAY,
            Perm.CORRECT_STAY,
            Perm.MANAGE_WARD,
            Perm.MANAGE_BED_STATE,
            Perm.IMPORT_WARD_LIST,
            Perm.LATE_REVIEW,
            Perm.ACT_ESCALATION,
            Perm.READ_SITE,
            Perm.READ_AUDIT,
            Perm.READ_HUB,
        }
    ),
    "flow_coordinator": frozenset(
        _CLINICAL_TEAM
        | {
            Perm.WRITE_PATIENT,
            Perm.MANAGE_STAY,
            Perm.CORRECT_STAY,
            Perm.MANAGE_WARD,
            Perm.MANAGE_BED_STATE,
            Perm.IMPORT_WARD_LIST,
            Perm.LATE_REVIEW,
            Perm.ACT_ESCALATION,
            Perm.READ_SITE,
            Perm.READ_HUB,
        }
    ),
    # Care transfer hub and social care partner staff: the hub list alone, with minimal
    # identifiers; no board, patient page or API beyond it (docs/permissions.md).
    "transfer_hub": frozenset({Perm.READ_HUB}),
    # Sponsors see their wards' patients for context and act on escalations, nothing clinical.
    "executive_sponsor": frozenset({Perm.READ_WARD, Perm.ACT_ESCALATION, Perm.READ_SITE, Perm.RECEIVE_ALERTS}),
    "admin": frozenset(
        {
            Perm.READ_WARD,
            Perm.SETUP_HOSPITAL,
            Perm.MANAGE_WARD,
            Perm.READ_SITE,
            Perm.READ_AUDIT,
            Perm.MANAGE_USERS,
            Perm.RECEIVE_ALERTS,
        }
    ),
    "integration": frozenset({Perm.READ_WARD, Perm.WRITE_PATIENT, Perm.MANAGE_STAY, Perm.SUBMIT_HL7}),
}


def allows(role: str, perm: Perm) -> bool:
    return perm in MATRIX.get(role, frozenset())
