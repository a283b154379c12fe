"""The per-patient board-round form: the standard questions in their fixed order.

Parsed from HTML form strings: blanks become None, checkbox groups become lists.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from app.core.types import MAX_ID


def _blank_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _as_list(value: object) -> object:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _text(max_length: int) -> object:
    return Annotated[
        str,
        BeforeValidator(lambda v: (v or "").strip() if isinstance(v, str | None) else v),
        Field(max_length=max_length, pattern=r"^[^\x00]*$"),
    ]


OptionalDate = Annotated[date | None, BeforeValidator(_blank_none)]
OptionalCode = Annotated[Annotated[str, Field(max_length=40)] | None, BeforeValidator(_blank_none)]


class PatientStepForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    stay_version: Annotated[int, Field(ge=1, le=MAX_ID)]
    review_version: Annotated[Annotated[int, Field(ge=1, le=MAX_ID)] | None, BeforeValidator(_blank_none)] = None
    # 1. Criteria to reside today
    meets: Literal["yes", "no"]
    criteria: Annotated[list[Annotated[str, Field(max_length=2)]], BeforeValidator(_as_list), Field(max_length=12)] = []
    delay_reason_code: OptionalCode = None
    # 2. Expected discharge date
    expected_discharge_date: OptionalDate = None
    edd_reason: _text(1000) = ""  # type: ignore[valid-type]
    # 3. Clinical criteria for discharge
    clinical_criteria_for_discharge: _text(4000) = ""  # type: ignore[valid-type]
    # 4. Pathway
    pathway: Annotated[Annotated[int, Field(ge=0, le=3)] | None, BeforeValidator(_blank_none)] = None
    # 5. Red or green day
    day_status: Literal["red", "green"]
    red_day_reason_code: OptionalCode = None
    plan: _text(4000) = ""  # type: ignore[valid-type]
    # Strengths-based practice and patient choice
    what_matters: _text(2000) = ""  # type: ignore[valid-type]
    strengths: _text(2000) = ""  # type: ignore[valid-type]
    choice_information_given_on: OptionalDate = None
    choice_offered_on: OptionalDate = None
    choice_deadline: OptionalDate = None
    # 6. Action for today
    action_description: _text(1000) = ""  # type: ignore[valid-type]
    action_owner_role: OptionalCode = None
    action_due: Annotated[time | None, BeforeValidator(_blank_none)] = None
    # 7. Blocker to escalate
    escalation_category: OptionalCode = None
    escalation_help: _text(2000) = ""  # type: ignore[valid-type]
    escalation_needed_by: OptionalDate = None


def required_errors(data: dict) -> dict[str, str]:
    """Field-level messages for the two questions every patient must answer."""
    errors = {}
    if data.get("meets") not in ("yes", "no"):
        errors["meets"] = "Say whether the patient meets the criteria to reside today"
    if data.get("day_status") not in ("red", "green"):
        errors["day_status"] = "Say whether today is a red or a green day"
    return errors
