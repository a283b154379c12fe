"""The per-patient board-round form: the standard questions in their fixed order.

Parsed from HTML form strings with the shared input types (app.core.types): blanks become
None, checkbox groups become lists, dates are ISO from 1900 to 2100. `step_request` turns it
into the round step's domain schema (RoundStepRequest), the one the JSON API takes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from app.core.clock import LONDON, london_date
from app.core.types import (
    BoundedText,
    Code,
    FormCode,
    FormDate,
    FormTime,
    FormVersion,
    PathwayNumber,
)
from app.rounds.schemas import RoundStepRequest


def _blank_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _as_list(value: object) -> object:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


# None reads as blank, like a textarea left empty.
_NONE_IS_BLANK = BeforeValidator(lambda v: "" if v is None else v)


class PatientStepForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # The versions the form was drawn at. Both hidden fields are always there; a blank review
    # version means there was no review today when the form was drawn.
    stay_version: FormVersion
    review_version: Annotated[FormVersion | None, BeforeValidator(_blank_none)]
    # 1. Criteria to reside today
    meets: Literal["yes", "no"]
    criteria: Annotated[list[Code], BeforeValidator(_as_list), Field(max_length=12)] = []
    delay_reason_code: FormCode = None
    confirm_delay_reason: bool = False  # read by "no change" only (app/views/round_step.py)
    # 2. Expected discharge date
    expected_discharge_date: FormDate = None
    edd_reason: Annotated[str, BoundedText(1000), _NONE_IS_BLANK] = ""
    # 3. Clinical criteria for discharge
    clinical_criteria_for_discharge: Annotated[str, BoundedText(4000), _NONE_IS_BLANK] = ""
    # 4. Pathway
    pathway: Annotated[PathwayNumber | None, BeforeValidator(_blank_none)] = None
    # 5. Red or green day
    day_status: Literal["red", "green"]
    red_day_reason_code: FormCode = None
    plan: Annotated[str, BoundedText(4000), _NONE_IS_BLANK] = ""
    # Strengths-based practice and patient choice
    what_matters: Annotated[str, BoundedText(2000), _NONE_IS_BLANK] = ""
    strengths: Annotated[str, BoundedText(2000), _NONE_IS_BLANK] = ""
    choice_information_given_on: FormDate = None
    choice_offered_on: FormDate = None
    choice_deadline: FormDate = None
    # 6. Action for today
    action_description: Annotated[str, BoundedText(1000), _NONE_IS_BLANK] = ""
    action_owner_role: FormCode = None
    action_due: FormTime = None
    # 7. Blocker to escalate
    escalation_category: FormCode = None
    escalation_help: Annotated[str, BoundedText(2000), _NONE_IS_BLANK] = ""
    escalation_needed_by: FormDate = None


def required_errors(data: dict) -> dict[str, str]:
    """Field-level messages for the two questions every patient must answer."""
    errors = {}
    if data.get("meets") not in ("yes", "no"):
        errors["meets"] = "Say whether the patient meets the criteria to reside today"
    if data.get("day_status") not in ("red", "green"):
        errors["day_status"] = "Say whether today is a red or a green day"
    return errors


# The messages of the form's hidden fields: a form without them cannot say what its user saw.
VERSION_FIELDS = ("stay_version", "review_version")
RELOAD = (
    "This form does not say which version of the patient's record it was opened at, so saving it "
    "could overwrite someone else's change unseen. Reload the page and enter your answers again."
)

# RoundStepRequest's fields -> this form's, so a message sits next to the right control.
FORM_FIELDS = {
    "review": "meets",
    "review.meets_criteria_to_reside": "meets",
    "review.criteria": "criteria",
    "review.delay_reason_code": "delay_reason_code",
    "review.day_status": "day_status",
    "review.red_day_reason_code": "red_day_reason_code",
    "review.pathway": "pathway",
    "review.plan": "plan",
    "no_change": "meets",
    "confirm_delay_reason": "confirm_delay_reason",
    "actions.0.description": "action_description",
    "actions.0.owner_role_code": "action_owner_role",
    "actions.0.due_at": "action_due",
    "escalation.category_code": "escalation_category",
    "escalation.help_needed": "escalation_help",
    "escalation.needed_by": "escalation_needed_by",
}


def form_field(request_field: str | None) -> str:
    """The form control for a RoundStepRequest field ("form" for the page as a whole)."""
    name = request_field or "form"
    name = FORM_FIELDS.get(name, name)
    return name if name in PatientStepForm.model_fields and name not in VERSION_FIELDS else "form"


def version_errors(errors: dict[str, str]) -> dict[str, str]:
    """A missing or mangled version is not the user's typing: one message for the page."""
    if not any(name in errors for name in VERSION_FIELDS):
        return errors
    return {k: v for k, v in errors.items() if k not in VERSION_FIELDS} | {"form": RELOAD}


def step_request(form: PatientStepForm, now: datetime) -> tuple[RoundStepRequest | None, dict[str, str]]:
    """The answers as the round step's domain schema, or this form's field messages."""
    errors = {}
    if form.action_description and not form.action_owner_role:
        errors["action_owner_role"] = "Say who will do it"
    if form.escalation_help and not form.escalation_category:
        errors["escalation_category"] = "Choose what kind of blocker this is"
    if errors:
        return None, errors
    meets = form.meets == "yes"
    data: dict[str, Any] = {
        "stay_version": form.stay_version,
        "review_version": form.review_version,
        # Both follow-up questions stay on screen: only the one that applies is recorded.
        "review": {
            "meets_criteria_to_reside": meets,
            "criteria": form.criteria if meets else [],
            "delay_reason_code": None if meets else form.delay_reason_code,
            "day_status": form.day_status,
            "red_day_reason_code": form.red_day_reason_code if form.day_status == "red" else None,
            "pathway": form.pathway,
            "plan": form.plan,
        },
        # The form shows every stay answer, so it sends them all: blank clears.
        "expected_discharge_date": form.expected_discharge_date,
        "edd_reason": form.edd_reason,
        "clinical_criteria_for_discharge": form.clinical_criteria_for_discharge,
        "what_matters": form.what_matters,
        "strengths": form.strengths,
        "choice_information_given_on": form.choice_information_given_on,
        "choice_offered_on": form.choice_offered_on,
        "choice_deadline": form.choice_deadline,
    }
    if form.action_description:
        due = datetime.combine(london_date(now), form.action_due, tzinfo=LONDON) if form.action_due else None
        data["actions"] = [
            {"description": form.action_description, "owner_role_code": form.action_owner_role, "due_at": due}
        ]
    if form.escalation_help:
        data["escalation"] = {
            "category_code": form.escalation_category,
            "help_needed": form.escalation_help,
            "needed_by": _five_pm(form.escalation_needed_by),
        }
    try:
        return RoundStepRequest.model_validate(data), {}
    except ValidationError as exc:
        return None, {form_field(name): message for name, message in _dotted(exc).items()}


def _five_pm(day: date | None) -> datetime | None:
    return datetime.combine(day, datetime.min.time(), tzinfo=LONDON).replace(hour=17) if day else None


def _dotted(exc: ValidationError) -> dict[str, str]:
    """Field messages keyed by the whole path (`review.plan`), not only its first part."""
    out: dict[str, str] = {}
    for error in exc.errors():
        name = ".".join(str(p) for p in error.get("loc", ())) or "form"
        out.setdefault(name, str(error.get("msg", "Enter a valid value")).removeprefix("Value error, "))
    return out
