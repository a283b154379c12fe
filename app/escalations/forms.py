"""The raise form: the API's EscalationCreate as a page sends it (a London day, not a moment)."""

from __future__ import annotations

from datetime import datetime, time

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.core.clock import LONDON
from app.core.types import Code, FormDate, RequiredText
from app.escalations.schemas import EscalationCreate


class RaiseForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    category_code: Code = Field(None, validate_default=True)
    help_needed: RequiredText = Field(None, validate_default=True)
    needed_by: FormDate = None  # a London date: needed by 17:00 that day

    @field_validator("category_code", mode="before")
    @classmethod
    def _chosen(cls, value: object) -> object:
        if not isinstance(value, str) or not value.strip() or len(value.strip()) > 40:
            raise ValueError("Choose what kind of blocker this is")
        return value

    @field_validator("help_needed", mode="before")
    @classmethod
    def _described(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValueError("Describe the help needed")
        return value

    def to_create(self) -> EscalationCreate:
        needed_by = datetime.combine(self.needed_by, time(17, 0), tzinfo=LONDON) if self.needed_by else None
        return EscalationCreate(category_code=self.category_code, help_needed=self.help_needed, needed_by=needed_by)
