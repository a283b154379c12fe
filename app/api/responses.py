"""The JSON error shape (app.web.errors writes it) as OpenAPI models, for routes to document their errors."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class FieldError(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[FieldError] = []
    detail: Any = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


def error_responses(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status with its meaning, all in the one error shape."""
    return {status: {"model": ErrorResponse, "description": text} for status, text in descriptions.items()}
