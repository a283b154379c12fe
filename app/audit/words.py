"""The audit trail in words for the audit viewer: field labels instead of column names, reference
labels instead of codes, dates and times on the London clock instead of stored UTC text.

Stored events keep their raw values (codes, UTC ISO text); only the screen reads them this way.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session

from app.audit.queries import changes
from app.core.clock import DAY_NAMES, day_month_year, london_wall_clock
from app.reference import labels

# Columns every row has: the event's own time and id say the same, so the viewer leaves them out.
BOOKKEEPING = frozenset({"id", "version", "created_at", "updated_at"})

FIELD_LABELS = {
    "meets_criteria_to_reside": "Meets criteria to reside",
    "criteria": "Criteria met",
    "delay_reason_code": "Delay reason",
    "red_day_reason_code": "Red day reason",
    "day_status": "Red or green day",
    "derived_day_status": "Red or green day from the answers",
    "day_status_override_reason": "Why the colour was overridden",
    "delay_reasons": "Delay reasons",
    "day_status_delay_code": "Why the answers make it red",
    "is_primary": "Main reason",
    "list_version": "National list version",
    "senior_reviewer": "Senior review by",
    "senior_reviewed_at": "Senior review at",
    "expected_discharge_date": "Expected discharge date (EDD)",
    "discharge_ready_date": "Discharge ready date",
    "clinical_criteria_for_discharge": "Clinical criteria for discharge",
    "owner_role_code": "Owner",
    "follow_up_owner_role_code": "Follow-up owner",
    "role_code": "Role",
    "category_code": "Category",
    "family_code": "Delay reason family",
    "discharge_destination_code": "Discharge destination",
    "state_code": "Bed state",
    "closure_reason_code": "Closure reason",
    "reason_code": "Reason",
    "criterion_code": "Criterion",
    "causes": "Causes",
    "primary_cause": "Main cause",
    "nhs_number": "NHS number",
    "mrn": "Hospital number",
    "pas_visit_number": "PAS visit number",
    "dob": "Date of birth",
    "date_of_birth": "Date of birth",
    "is_open": "Open",
    "is_escalation": "Escalation bed",
    "is_active": "Active",
}

# Fields holding a reference code, and the reference list (app.models.REFERENCE_LISTS) naming it.
CODE_LISTS = {
    "delay_reason_code": "delay_reasons",
    "delay_reasons": "delay_reasons",
    "day_status_delay_code": "delay_reasons",
    "red_day_reason_code": "red_day_reasons",
    "owner_role_code": "roles",
    "follow_up_owner_role_code": "roles",
    "role_code": "roles",
    "category_code": "families",
    "family_code": "families",
    "discharge_destination_code": "destinations",
    "state_code": "bed_states",
    "closure_reason_code": "bed_closure_reasons",
    "reason_code": "failed_discharge_reasons",
    "criterion_code": "criteria",
    "criteria": "criteria",
    "causes": "failed_discharge_reasons",
    "primary_cause": "failed_discharge_reasons",
    "pathway": "pathways",
}

ENTITY_LABELS = {
    "dailyreview": "daily review",
    "stay": "stay",
    "staylocation": "bed move",
    "eddchange": "EDD change",
    "faileddischarge": "failed discharge",
    "boardround": "board round",
    "boardroundentry": "board round entry",
    "bedstateperiod": "bed state",
    "adtmessage": "PAS message",
}

ACTION_LABELS = {
    "create": "Created",
    "update": "Changed",
    "delete": "Deleted",
    "sign_in": "Signed in",
    "set_edd": "Set EDD",
    "admit": "Admitted",
    "record_review": "Recorded review",
    "update_from_review": "Updated from review",
    "discharge": "Discharged",
    "transfer": "Transferred",
}

# Fields whose stored words are themselves codes.
DAY_WORDS = {"red": "Red day", "green": "Green day"}
VALUE_LABELS = {"day_status": DAY_WORDS, "derived_day_status": DAY_WORDS}

_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


def field_label(field: str) -> str:
    if field in FIELD_LABELS:
        return FIELD_LABELS[field]
    words = re.sub(r"_(code|id)$", "", field).replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def entity_label(entity_type: str) -> str:
    return ENTITY_LABELS.get(entity_type, entity_type.replace("_", " "))


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action.replace("_", " ").capitalize())


def _moment_text(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # stored UTC
    local = london_wall_clock(moment)
    return f"{DAY_NAMES[local.weekday()]} {day_month_year(local)}, {local:%H:%M}"


def value_text(field: str, value: Any, code_labels: dict[str, dict]) -> str | None:
    """One stored value as a person reads it; None for no value."""
    if value is None or value == "":
        return None
    names: dict[Any, str] = code_labels.get(CODE_LISTS.get(field, ""), {}) or VALUE_LABELS.get(field, {})
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "; ".join(_item_text(item, names) for item in value) or "(none)"
    if names and isinstance(value, str | int) and value in names:
        return str(names[value])
    if isinstance(value, str):
        if _DATETIME.match(value):
            return _moment_text(value)
        if _DATE.match(value):
            try:
                return day_month_year(date.fromisoformat(value))
            except ValueError:
                return value
    return str(value)


def _item_text(item: Any, names: dict[Any, str]) -> str:
    """One entry of a stored list: a code, or a coded entry such as {"code": ..., "primary": true}."""
    if isinstance(item, dict):
        if "code" in item:
            return str(names.get(item["code"], item["code"])) + (" (main)" if item.get("primary") else "")
        return ", ".join(f"{field_label(k)}: {v}" for k, v in item.items())
    return str(names.get(item, item)) if isinstance(item, str | int) else str(item)


def code_labels_for(session: Session) -> dict[str, dict]:
    return {name: labels(session, name) for name in set(CODE_LISTS.values())}


def readable_changes(
    before: dict | None, after: dict | None, code_labels: dict[str, dict]
) -> list[tuple[str, str | None, str | None]]:
    """(label, before, after) in words, bookkeeping columns left out, and fields empty on both
    sides (a new row's blank fields) too: they say nothing."""
    rows = [
        (field_label(field), value_text(field, old, code_labels), value_text(field, new, code_labels))
        for field, old, new in changes(before, after)
        if field not in BOOKKEEPING
    ]
    return [row for row in rows if row[1] is not None or row[2] is not None]
