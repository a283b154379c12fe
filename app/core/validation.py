"""Form values validated with the same pydantic schemas as the API.

On failure a view re-renders with status 422, the typed values kept and the NHS error summary
listing each field's message (app.web.form_writes does this for every form write).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from app.core.types import form_id

M = TypeVar("M", bound=BaseModel)


def as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def form_version(form: Mapping[str, Any], name: str = "version") -> int | None:
    """The version a form was drawn at, from its hidden field; None when missing or mangled.

    Never the row's current version instead: that would turn a stale form into a silent overwrite.
    """
    return form_id(form.get(name))


def field_error(field: str, message: str) -> PydanticCustomError:
    """For a check across fields (a model validator): the message, shown against `field`."""
    return PydanticCustomError("form_field", message, {"field": field})


def field_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ())]
        name = str((error.get("ctx") or {}).get("field") or (loc[0] if loc else "form"))
        message = str(error.get("msg", "Enter a valid value")).removeprefix("Value error, ")
        errors.setdefault(name, message)
    return errors


def validate(
    schema: type[M], data: Mapping[str, Any], *, context: dict[str, Any] | None = None
) -> tuple[M | None, dict[str, str]]:
    try:
        return schema.model_validate(data, context=context), {}
    except ValidationError as exc:
        return None, field_errors(exc)
