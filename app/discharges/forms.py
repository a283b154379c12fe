"""Failed-discharge forms: HTML strings in, the API's schemas out, NHS-style messages.

`FailedDischargeForm` and `EddForm` are pydantic schemas read by app.web.form_writes like every
other form. Dates and times are typed as Europe/London wall-clock values and stored as UTC; they,
and ids, follow the shared input rules of app.core.types (ISO dates from 1900 to 2100). Each
message is against the form field it is about (also its element id, so the NHS error summary can
link to it), in the order the fields appear. The list filters below are a GET query string.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, time

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.core.clock import london_at
from app.core.types import Code, IsoDate, LongText, clock_time, form_id, iso_date
from app.core.validation import as_list, field_error
from app.discharges.queries import Filters
from app.discharges.schemas import FailedDischargeCreate
from app.stays.schemas import EddRequest

DETAIL_MAX = 4000
MAX_CAUSES = 16

# Schema (and service) field -> the form field to show the message against.
FORM_FIELD = {
    "planned_for": "planned_date",
    "follow_up_owner_role_code": "follow_up_owner_role",
    "follow_up_due_at": "follow_up_due_date",
}


def _single(value: object) -> object:
    """A repeated single-value field: keep the last, as browsers do."""
    if isinstance(value, list):
        value = value[-1] if value else ""
    return value


def _text(value: object) -> str:
    return "" if value is None else str(_single(value)).replace("\x00", "").strip()


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


def _required(value: object, message: str) -> str:
    text = _text(value)
    if not text:
        raise ValueError(message)
    return text


class FailedDischargeForm(BaseModel):
    """The log form. Validation context: `reasons` (cause codes) and `roles` (who may own a
    follow-up), so a code from outside the lists is a field message rather than a refusal."""

    model_config = ConfigDict(extra="ignore")

    planned_date: date = Field(None, validate_default=True)
    planned_time: time = Field(None, validate_default=True)
    causes: list[Code] = Field(None, validate_default=True)
    primary_cause: Code | None = Field(None, validate_default=True)
    detail: LongText = ""
    avoidable: bool = Field(None, validate_default=True)
    follow_up_owner_role: Code | None = None
    follow_up_due_date: date | None = None
    follow_up_due_time: time | None = Field(None, validate_default=True)

    @field_validator("planned_date", mode="before")
    @classmethod
    def _planned_date(cls, value: object) -> date:
        return iso_date(_required(value, "Enter the date the patient was due to go home"))

    @field_validator("planned_time", mode="before")
    @classmethod
    def _planned_time(cls, value: object) -> time:
        return clock_time(_required(value, "Enter the time the patient was due to go home"))

    @field_validator("causes", mode="before")
    @classmethod
    def _causes(cls, value: object, info: ValidationInfo) -> list[str]:
        ticked = list(dict.fromkeys(t for t in (_text(c) for c in as_list(value)) if t))
        if not ticked:
            raise ValueError("Select at least one cause")
        if any(code not in (info.context or {}).get("reasons", ()) for code in ticked):
            raise ValueError("Select causes from the list")
        if len(ticked) > MAX_CAUSES:
            raise ValueError(f"Select {MAX_CAUSES} causes or fewer")
        return ticked

    @field_validator("primary_cause", mode="before")
    @classmethod
    def _primary_cause(cls, value: object, info: ValidationInfo) -> str | None:
        ticked = info.data.get("causes")
        primary = _text(value)
        if ticked is None:
            return primary or None  # the causes have their own message; this one waits for them
        if not primary and len(ticked) == 1:
            return ticked[0]  # one cause: it is the main one
        if not primary:
            raise ValueError("Select which cause was the main one")
        if primary not in ticked:
            raise ValueError("The main cause must be one of the causes you ticked")
        return primary

    @field_validator("detail", mode="before")
    @classmethod
    def _detail(cls, value: object) -> str:
        detail = _text(value)
        if len(detail) > DETAIL_MAX:
            raise ValueError(f"Detail must be {DETAIL_MAX} characters or fewer")
        return detail

    @field_validator("avoidable", mode="before")
    @classmethod
    def _avoidable(cls, value: object) -> bool:
        answer = _text(value)
        if answer not in ("yes", "no"):
            raise ValueError("Select yes if the failed discharge could have been avoided")
        return answer == "yes"

    @field_validator("follow_up_owner_role", mode="before")
    @classmethod
    def _owner(cls, value: object, info: ValidationInfo) -> str | None:
        owner = _text(value) or None
        if owner is not None and owner not in (info.context or {}).get("roles", ()):
            raise ValueError("Choose a role from the list")
        return owner

    @field_validator("follow_up_due_date", mode="before")
    @classmethod
    def _due_date(cls, value: object) -> date | None:
        text = _text(value)
        return iso_date(text) if text else None

    @field_validator("follow_up_due_time", mode="before")
    @classmethod
    def _due_time(cls, value: object, info: ValidationInfo) -> time | None:
        text = _text(value)
        day_given = "follow_up_due_date" not in info.data or info.data["follow_up_due_date"] is not None
        if text and not day_given:
            raise field_error("follow_up_due_date", "Enter the date the follow-up is due")
        if not text and day_given and "follow_up_due_date" in info.data:
            raise ValueError("Enter the time the follow-up is due")
        return clock_time(text) if text else None

    def to_create(self) -> FailedDischargeCreate:
        """The same FailedDischargeCreate the JSON API takes (every field already within its rules)."""
        due = self.follow_up_due_date
        return FailedDischargeCreate(
            planned_for=london_at(self.planned_date, self.planned_time),
            causes=self.causes,
            primary_cause=self.primary_cause or self.causes[0],
            detail=self.detail,
            avoidable=self.avoidable,
            follow_up_owner_role_code=self.follow_up_owner_role,
            follow_up_due_at=london_at(due, self.follow_up_due_time) if due and self.follow_up_due_time else None,
        )


class EddForm(EddRequest):
    """The API's EDD body as the revisit page posts it (its version travels as `stay_version`)."""

    model_config = ConfigDict(extra="ignore")

    expected_discharge_date: IsoDate = Field(None, validate_default=True)

    @field_validator("expected_discharge_date", mode="before")
    @classmethod
    def _given(cls, value: object) -> object:
        return _required(value, "Enter the expected discharge date")

    @field_validator("reason", mode="before")
    @classmethod
    def _reason(cls, value: object) -> object:
        reason = _text(value)
        if len(reason) > 1000:
            raise ValueError("Reason must be 1000 characters or fewer")
        return reason


parse_id = form_id


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
