"""Input types shared by API and form schemas.

Text is stripped, length-limited and refuses NUL characters (PostgreSQL cannot store them,
and no person types one). Ids are bounded so a huge number is a 422, not a database error.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

MAX_ID = 2**31 - 1


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _text(max_length: int, min_length: int = 0) -> object:
    return Annotated[
        str,
        BeforeValidator(_strip),
        StringConstraints(min_length=min_length, max_length=max_length),
        AfterValidator(_no_nul),
    ]


Name = _text(100, 1)
Label = _text(200, 1)
ShortText = _text(200)
Reason = _text(1000)
LongText = _text(4000)
RequiredText = _text(2000, 1)
Code = _text(40, 1)
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Version = Annotated[int, Field(ge=1, le=MAX_ID)]
UtcMoment = AwareDatetime


class PartialUpdate(BaseModel):
    """Base for PATCH bodies: send only what changes; null only where a field may be cleared."""

    model_config = ConfigDict(extra="forbid")
    clearable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None and info.field_name not in cls.clearable | {"version"}:
            raise ValueError("cannot be empty")
        return value
