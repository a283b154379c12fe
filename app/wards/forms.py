"""HTML forms for places: a bed's state on the board, and setting up sites, wards and beds.

Each turns the posted fields into the JSON API's own body (app.wards.schemas), so the services
see the same values whichever edge they came from.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

from app.core.types import (
    BedLabel,
    FormCode,
    Id,
    Label,
    Note,
    ShortText,
    SiteCode,
    SortOrder,
    Specialty,
    StateCode,
    WardCode,
)
from app.wards.schemas import BedCreate, BedStateChange, WardCreate


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


# A choice from a list of records ("" for none): an id, or a field message.
ChosenId = Annotated[Id | None, BeforeValidator(_blank_is_none)]


def _yes(value: object) -> bool:
    return value in ("yes", "on", "true", "1", True)


class BedStateForm(BaseModel):
    """Open, close (with a reason), awaiting cleaning, or reserved (for whom, from where)."""

    model_config = ConfigDict(extra="ignore")

    state_code: StateCode
    closure_reason_code: FormCode = None
    note: Note = ""
    reserved_for: ShortText = ""
    reserved_from: ShortText = ""

    def change(self) -> BedStateChange:
        """Only the details that go with the chosen state: a reason typed before switching to
        "open" is not a reason to refuse the change."""
        closed, reserved = self.state_code == "closed", self.state_code == "reserved"
        return BedStateChange(
            state_code=self.state_code,
            closure_reason_code=self.closure_reason_code if closed else None,
            note=self.note,
            reserved_for=self.reserved_for if reserved else "",
            reserved_from=self.reserved_from if reserved else "",
        )


class SiteForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: SiteCode
    name: Label


class _WardFields(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Label
    specialty: Specialty = ""
    executive_sponsor_id: ChosenId = None


class WardForm(_WardFields):
    site_id: Id
    code: WardCode

    def create(self) -> WardCreate:
        return WardCreate(
            site_id=self.site_id,
            code=self.code,
            name=self.name,
            specialty=self.specialty,
            executive_sponsor_id=self.executive_sponsor_id,
        )


class WardEditForm(_WardFields):
    is_active: bool = False

    @model_validator(mode="before")
    @classmethod
    def _checkbox(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {**data, "is_active": _yes(data.get("is_active"))}
        return data

    def changes(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "specialty": self.specialty,
            "executive_sponsor_id": self.executive_sponsor_id,
            "is_active": self.is_active,
        }


class BedForm(BaseModel):
    """A new bed: label, place in the ward's order, and kind (an escalation bed starts closed)."""

    model_config = ConfigDict(extra="ignore")

    label: BedLabel
    sort_order: SortOrder = 0
    is_escalation: bool = False

    @model_validator(mode="before")
    @classmethod
    def _fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            order = data.get("sort_order")
            return {
                **data,
                "is_escalation": _yes(data.get("is_escalation")),
                "sort_order": 0 if order is None or not str(order).strip() else order,
            }
        return data

    def create(self) -> BedCreate:
        return BedCreate(
            label=self.label,
            sort_order=self.sort_order,
            is_escalation=self.is_escalation,
            is_open=not self.is_escalation,
        )


class BedEditForm(BedForm):
    """Relabel, reorder, change kind; `retired` removes the bed from the ward (refused while a
    patient is in it) and unticking it brings the bed back."""

    retired: bool = False

    @model_validator(mode="before")
    @classmethod
    def _retired(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {**data, "retired": _yes(data.get("retired"))}
        return data

    def changes(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "sort_order": self.sort_order,
            "is_escalation": self.is_escalation,
            "retired": self.retired,
        }
