"""Form values validated with the same pydantic schemas as the API.

On failure a view re-renders with status 422, the typed values kept and the NHS error summary
listing each field's message.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.core.errors import DomainError
from app.core.types import form_id

M = TypeVar("M", bound=BaseModel)


def as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def form_version(form: dict[str, Any], current: int) -> int:
    """The version a form was drawn at; without one, the current. A mangled one matches nothing (0)."""
    if "version" not in form:
        return current
    return form_id(form["version"]) or 0


def field_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ())]
        name = loc[0] if loc else "form"
        message = str(error.get("msg", "Enter a valid value")).removeprefix("Value error, ")
        errors.setdefault(name, message)
    return errors


def validate(schema: type[M], data: dict[str, Any]) -> tuple[M | None, dict[str, str]]:
    try:
        return schema.model_validate(data), {}
    except ValidationError as exc:
        return None, field_errors(exc)


def domain_errors(exc: DomainError) -> dict[str, str]:
    return {exc.field or "form": exc.message}
