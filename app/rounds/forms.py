"""The per-patient board-round form: the standard questions in their fixed order.

Parsed from HTML form strings with the shared input types (app.core.types): blanks become
None, checkbox groups become lists, dates are ISO from 1900 to 2100.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from app.core.types import (
    Code,
    FormCode,
    FormDate,
    FormTime,
    PathwayNumber,
    Version,
    bounded_text,
)


def _blank_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _as_list(value: object) -> object:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _text(max_length: int) -> object:
    # None reads as blank, like a textarea left empty.
    return Annotated[bounded_text(max_length), BeforeValidator(lambda v: "" if v is None else v)]


class PatientStepForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    stay_version: Version
    review_version: Annotated[Version | None, BeforeValidator(_blank_none)] = None
    # 1. Criteria to reside today
    meets: Literal["yes", "no"]
    criteria: Annotated[list[Code], BeforeValidator(_as_list), Field(max_length=12)] = []
    delay_reason_code: FormCode = None
    # 2. Expected discharge date
    expected_discharge_date: FormDate = None
    edd_reason: _text(1000) = ""  # type: ignore[valid-type]
    # 3. Clinical criteria for discharge
    clinical_criteria_for_discharge: _text(4000) = ""  # type: ignore[valid-type]
    # 4. Pathway
    pathway: Annotated[PathwayNumber | None, BeforeValidator(_blank_none)] = None
    # 5. Red or green day
    day_status: Literal["red", "green"]
    red_day_reason_code: FormCode = None
    plan: _text(4000) = ""  # type: ignore[valid-type]
    # Strengths-based practice and patient choice
    what_matters: _text(2000) = ""  # type: ignore[valid-type]
    strengths: _text(2000) = ""  # type: ignore[valid-type]
    choice_information_given_on: FormDate = None
    choice_offered_on: FormDate = None
    choice_deadline: FormDate = None
    # 6. Action for today
    action_description: _text(1000) = ""  # type: ignore[valid-type]
    action_owner_role: FormCode = None
    action_due: FormTime = None
    # 7. Blocker to escalate
    escalation_category: FormCode = None
    escalation_help: _text(2000) = ""  # type: ignore[valid-type]
    escalation_needed_by: FormDate = None


def required_errors(data: dict) -> dict[str, str]:
    """Field-level messages for the two questions every patient must answer."""
    errors = {}
    if data.get("meets") not in ("yes", "no"):
        errors["meets"] = "Say whether the patient meets the criteria to reside today"
    if data.get("day_status") not in ("red", "green"):
        errors["day_status"] = "Say whether today is a red or a green day"
    return errors
