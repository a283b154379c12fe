"""Input types shared by API schemas, query parameters and HTML form parsers.

Every value a person or another system sends passes through one of these, so what the
database and the date arithmetic downstream receive is bounded:

- text is stripped, length-limited, refuses NUL characters (PostgreSQL cannot store them,
  and no person types one), and a required text of only spaces is a field error;
- dates are ISO `YYYY-MM-DD` only (no timestamps: "0" is not 1 January 1970) and lie
  between 1900 and 2100, so adding a day or converting to UTC never overflows;
- moments are ISO 8601 date-times with a time zone, in the same years;
- integers fit their database column (ids and versions are positive 32-bit).

The plain functions (`iso_date`, `iso_moment`, `clock_time`, `form_id`) are the same rules
for hand-written form parsers: they raise ValueError with a message for people.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated, Any, ClassVar

from annotated_types import GroupedMetadata
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

MAX_INT32 = 2**31 - 1  # PostgreSQL INTEGER (ids, versions, sort orders)
MAX_ID = MAX_INT32
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2100, 12, 31)

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_MOMENT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?([Zz]|[+-][0-9]{2}:?[0-9]{2})?"
)
_CLOCK_TIME = re.compile(r"[0-9]{2}:[0-9]{2}(:[0-9]{2})?")
_DIGITS = re.compile(r"[0-9]{1,10}")

DATE_RANGE_MESSAGE = "Enter a date between 1 January 1900 and 31 December 2100"


# Dates, moments and times -------------------------------------------------------------------


def iso_date(value: object) -> date:
    """A calendar date: a `date`, or text exactly `YYYY-MM-DD`, from 1900 to 2100."""
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    elif isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("Enter a real date") from None
    else:
        raise ValueError("Enter a date as YYYY-MM-DD")
    if not FIRST_DATE <= day <= LAST_DATE:
        raise ValueError(DATE_RANGE_MESSAGE)
    return day


def iso_moment(value: object) -> datetime:
    """A moment: an aware `datetime`, or ISO 8601 text with a time zone, from 1900 to 2100."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and _ISO_MOMENT.fullmatch(value.strip()):
        try:
            moment = datetime.fromisoformat(value.strip().upper())
        except ValueError:
            raise ValueError("Enter a real date and time") from None
    else:
        raise ValueError("Enter a date and time in ISO 8601 format, like 2026-03-01T14:30:00Z")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("Give the time zone, like Z or +01:00")
    # Checked in its own offset, before any conversion (which could overflow at year 1 or 9999).
    if not FIRST_DATE <= moment.date() <= LAST_DATE:
        raise ValueError(DATE_RANGE_MESSAGE)
    return moment


def clock_time(value: object) -> time:
    """A wall-clock time typed as HH:MM (or HH:MM:SS), without a time zone; seconds dropped."""
    if isinstance(value, time):
        clock = value
    elif isinstance(value, str) and _CLOCK_TIME.fullmatch(value.strip()):
        try:
            clock = time.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("Enter a real time, like 14:30") from None
    else:
        raise ValueError("Enter a real time, like 14:30")
    if clock.tzinfo is not None:
        raise ValueError("Enter a real time, like 14:30")
    return clock.replace(second=0, microsecond=0)


def form_id(value: Any) -> int | None:
    """A positive database id or version from a form or query string; anything else is None.

    ASCII digits only and at most 10 of them: str.isdigit accepts "²" and int() refuses
    strings of thousands of digits, and neither may turn a typo into a 500.
    """
    text = str(value if value is not None else "").strip()
    if not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


IsoDate = Annotated[date, BeforeValidator(iso_date)]
UtcMoment = Annotated[AwareDatetime, BeforeValidator(iso_moment)]
ClockTime = Annotated[time, BeforeValidator(clock_time)]

# HTML forms send a blank field for "not given": these read it as None.
FormDate = Annotated[IsoDate | None, BeforeValidator(_blank_is_none)]
FormTime = Annotated[ClockTime | None, BeforeValidator(_blank_is_none)]


# Integers -----------------------------------------------------------------------------------

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Version = Annotated[int, Field(ge=1, le=MAX_ID)]


def _form_version(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = form_id(value)
    if number is None:
        raise ValueError("Enter a version number")
    return number


# A version from a form's hidden field: ASCII digits only, as form_id reads ids ("1.0" is not 1).
FormVersion = Annotated[Version, BeforeValidator(_form_version)]
SortOrder = Annotated[int, Field(ge=-MAX_INT32 - 1, le=MAX_INT32)]  # an INTEGER column
PathwayNumber = Annotated[int, Field(ge=0, le=3)]


# Text ---------------------------------------------------------------------------------------


def no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _not_blank(value: str) -> str:
    if not value:
        raise ValueError("Cannot be blank")
    return value


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


@dataclass(frozen=True)
class BoundedText(GroupedMetadata):
    """Stripped text of at most `max_length` characters, no NUL; `required` refuses a blank.

    Grouped metadata rather than a function returning `Annotated[...]`, so that type checkers
    see every alias below as `str`.
    """

    max_length: int
    required: bool = False

    def __iter__(self) -> Iterator[object]:
        yield StringConstraints(max_length=self.max_length)
        yield BeforeValidator(_strip)
        yield AfterValidator(no_nul)
        if self.required:
            # The blank check is ours rather than min_length, whose message ("at least 1 character")
            # is wrong for a field of spaces; the schema still says minLength 1.
            yield AfterValidator(_not_blank)
            yield Field(json_schema_extra={"minLength": 1})


Name = Annotated[str, BoundedText(100, required=True)]
Label = Annotated[str, BoundedText(200, required=True)]
ShortText = Annotated[str, BoundedText(200)]
Reason = Annotated[str, BoundedText(1000)]
RequiredReason = Annotated[str, BoundedText(1000, required=True)]
LongText = Annotated[str, BoundedText(4000)]
RequiredText = Annotated[str, BoundedText(2000, required=True)]
Code = Annotated[str, BoundedText(40, required=True)]
# Text stored in a narrower column than its general kind allows (tests/core/test_types.py checks).
WardCode = Annotated[str, BoundedText(20, required=True)]
BedLabel = Annotated[str, BoundedText(20, required=True)]
Mrn = Annotated[str, BoundedText(20, required=True)]
ActionText = Annotated[str, BoundedText(1000, required=True)]
Specialty = Annotated[str, BoundedText(100)]
SiteCode = Annotated[str, BoundedText(10, required=True)]  # ODS site code
StateCode = Annotated[str, BoundedText(20, required=True)]  # a bed state, a milestone status, a referral answer
Note = Annotated[str, BoundedText(500)]
CodeOrBlank = Annotated[str, BoundedText(40)]
FormCode = Annotated[Code | None, BeforeValidator(_blank_is_none)]


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
