"""Failed-discharge forms: HTML strings in, the API's schemas out, NHS-style messages.

Dates and times are typed as Europe/London wall-clock values and stored as UTC; they, and
ids, follow the shared input rules of app.core.types (ISO dates from 1900 to 2100). Each parser
returns (data or None, errors); errors map a form field name (also its element id, so the
NHS error summary can link to it) to one message, in the order the fields appear.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from pydantic import ValidationError

from app.core.clock import london_at
from app.core.types import clock_time, form_id, iso_date
from app.core.validation import as_list, field_errors
from app.discharges.queries import Filters
from app.discharges.schemas import FailedDischargeCreate

DETAIL_MAX = 4000
REASON_MAX = 1000

# Schema (and service) field -> the form field to show the message against.
FORM_FIELD = {
    "planned_for": "planned_date",
    "causes": "causes",
    "primary_cause": "primary_cause",
    "detail": "detail",
    "avoidable": "avoidable",
    "follow_up_owner_role_code": "follow_up_owner_role",
    "follow_up_due_at": "follow_up_due_date",
    "expected_discharge_date": "expected_discharge_date",
    "reason": "reason",
}


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    if isinstance(value, list):  # a repeated single-value field: keep the last, as browsers do
        value = value[-1] if value else ""
    return str(value).replace("\x00", "").strip()


def parse_date(value: str) -> date | None:
    try:
        return iso_date(value)
    except ValueError:
        return None


def _date(text: str, errors: dict[str, str], field: str) -> date | None:
    """A typed date, or None with the shared rule's message against the field."""
    try:
        return iso_date(text)
    except ValueError as exc:
        errors[field] = str(exc)
        return None


def parse_time(value: str) -> time | None:
    try:
        return clock_time(value)
    except ValueError:
        return None


def _date_and_time(
    form: Mapping[str, Any], prefix: str, errors: dict[str, str], *, required: bool, what: str
) -> datetime | None:
    day_text, time_text = _text(form, f"{prefix}_date"), _text(form, f"{prefix}_time")
    if not day_text and not time_text and not required:
        return None
    day = _date(day_text, errors, f"{prefix}_date") if day_text else None
    clock = parse_time(time_text) if time_text else None
    if not day_text:
        errors[f"{prefix}_date"] = f"Enter the date {what}"
    if not time_text:
        errors[f"{prefix}_time"] = f"Enter the time {what}"
    elif clock is None:
        errors[f"{prefix}_time"] = "Enter a real time, like 14:30"
    if day is None or clock is None:
        return None
    return london_at(day, clock)


def parse_failed_discharge(
    form: Mapping[str, Any], *, reasons: Collection[str], roles: Collection[str]
) -> tuple[FailedDischargeCreate | None, dict[str, str]]:
    """Validate the log form; build the same FailedDischargeCreate the JSON API takes."""
    errors: dict[str, str] = {}
    planned_for = _date_and_time(form, "planned", errors, required=True, what="the patient was due to go home")

    ticked = list(dict.fromkeys(str(c).strip() for c in as_list(form.get("causes")) if str(c).strip()))
    primary = _text(form, "primary_cause")
    if not ticked:
        errors["causes"] = "Select at least one cause"
    elif any(code not in reasons for code in ticked):
        errors["causes"] = "Select causes from the list"
    elif len(ticked) > 16:
        errors["causes"] = "Select 16 causes or fewer"
    if ticked and not primary and len(ticked) == 1:
        primary = ticked[0]  # one cause: it is the main one
    if "causes" not in errors:
        if not primary:
            errors["primary_cause"] = "Select which cause was the main one"
        elif primary not in ticked:
            errors["primary_cause"] = "The main cause must be one of the causes you ticked"

    detail = _text(form, "detail")
    if len(detail) > DETAIL_MAX:
        errors["detail"] = f"Detail must be {DETAIL_MAX} characters or fewer"

    avoidable = _text(form, "avoidable")
    if avoidable not in ("yes", "no"):
        errors["avoidable"] = "Select yes if the failed discharge could have been avoided"

    owner = _text(form, "follow_up_owner_role") or None
    if owner is not None and owner not in roles:
        errors["follow_up_owner_role"] = "Choose a role from the list"
    due_at = _date_and_time(form, "follow_up_due", errors, required=False, what="the follow-up is due")

    if errors or planned_for is None:  # a required moment missing is always an error too
        return None, errors
    try:
        data = FailedDischargeCreate(
            planned_for=planned_for,
            causes=ticked,
            primary_cause=primary,
            detail=detail,
            avoidable=avoidable == "yes",
            follow_up_owner_role_code=owner,
            follow_up_due_at=due_at,
        )
    except ValidationError as exc:
        return None, {FORM_FIELD.get(k, k): v for k, v in field_errors(exc).items()}
    return data, {}


parse_id = form_id


def parse_stay_id(form: Mapping[str, Any]) -> int | None:
    return parse_id(_text(form, "stay_id"))


parse_version = parse_id


@dataclass(frozen=True)
class EddForm:
    expected_discharge_date: date
    reason: str
    stay_version: int


def parse_edd(form: Mapping[str, Any]) -> tuple[EddForm | None, dict[str, str]]:
    errors: dict[str, str] = {}
    day_text = _text(form, "expected_discharge_date")
    day = _date(day_text, errors, "expected_discharge_date") if day_text else None
    if not day_text:
        errors["expected_discharge_date"] = "Enter the expected discharge date"
    reason = _text(form, "reason")
    if len(reason) > REASON_MAX:
        errors["reason"] = f"Reason must be {REASON_MAX} characters or fewer"
    version = parse_version(form.get("stay_version"))
    if version is None:
        errors["form"] = "The form was incomplete: reload the page and try again"
    if errors or day is None or version is None:  # each None has its error
        return None, errors
    return EddForm(expected_discharge_date=day, reason=reason, stay_version=version), {}


# List and chart filters (GET query strings) -------------------------------------------------

FILTER_KEYS = ("ward", "date_from", "date_to", "cause", "avoidable", "follow_up")


def parse_filters(
    params: Mapping[str, str], *, ward_ids: Collection[int], reasons: Collection[str]
) -> tuple[Filters, dict[str, str], dict[str, str]]:
    """(filters to apply, values to show back, errors). Invalid filters are left out."""
    values = {k: str(params.get(k, "")).strip()[:40] for k in FILTER_KEYS}
    errors: dict[str, str] = {}
    ward_id = None
    if values["ward"]:
        ward_id = parse_id(values["ward"])
        if ward_id is None or ward_id not in ward_ids:
            ward_id = None
            errors["ward"] = "Choose a ward from the list"
    days: dict[str, date | None] = {}
    for key in ("date_from", "date_to"):
        days[key] = _date(values[key], errors, key) if values[key] else None
    if days["date_from"] and days["date_to"] and days["date_to"] < days["date_from"]:
        errors["date_to"] = "The end date must be on or after the start date"
        days["date_to"] = None
    cause = values["cause"] or None
    if cause is not None and cause not in reasons:
        errors["cause"] = "Choose a cause from the list"
        cause = None
    avoidable = {"yes": True, "no": False}.get(values["avoidable"])
    if values["avoidable"] not in ("", "yes", "no"):
        errors["avoidable"] = "Choose yes, no or any"
    if values["follow_up"] not in ("", "open"):
        errors["follow_up"] = "Choose open or any"
    filters = Filters(
        ward_id=ward_id,
        date_from=days["date_from"],
        date_to=days["date_to"],
        cause=cause,
        avoidable=avoidable,
        open_only=values["follow_up"] == "open",
    )
    return filters, values, errors
