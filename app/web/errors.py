"""Exception handlers: one JSON error shape under /api, NHS-styled pages elsewhere."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import DomainError

log = logging.getLogger("boardround.errors")

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    428: "version_required",
    429: "too_many_requests",
}


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def error_body(code: str, message: str, *, fields: list[dict[str, str]] | None = None, detail: Any = None) -> dict:
    body: dict[str, Any] = {"error": {"code": code, "message": message, "fields": fields or []}}
    if detail is not None:
        body["error"]["detail"] = detail
    return body


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _respond(request: Request, status: int, body: dict, headers: dict[str, str] | None = None) -> Response:
    if _is_api(request):
        return JSONResponse(jsonable_encoder(body), status_code=status, headers=headers)
    html_handler = getattr(request.app.state, "html_error_handler", None)
    if html_handler is not None:
        return html_handler(request, status, body["error"], headers)
    return HTMLResponse(f"<h1>{status}</h1><p>{body['error']['message']}</p>", status_code=status, headers=headers)


def _validation_message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "Invalid value"))
    return message.removeprefix("Value error, ")


async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
    fields = [{"field": _field_name(tuple(e.get("loc", ()))), "message": _validation_message(e)} for e in exc.errors()]
    return _respond(request, 422, error_body("validation_error", "Check the highlighted fields", fields=fields))


async def on_domain_error(request: Request, exc: DomainError) -> Response:
    fields = [{"field": exc.field, "message": exc.message}] if exc.field else []
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 and _is_api(request) else None
    return _respond(
        request, exc.status_code, error_body(exc.code, exc.message, fields=fields, detail=exc.detail), headers
    )


async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return _respond(request, exc.status_code, error_body(code, message), getattr(exc, "headers", None))


async def on_integrity_error(request: Request, exc: IntegrityError) -> Response:
    return _respond(request, 409, error_body("conflict", "This change clashes with another record"))


async def on_stale_data(request: Request, exc: StaleDataError) -> Response:
    return _respond(request, 409, error_body("stale_version", "Someone else changed this record: reload and try again"))


async def on_db_error(request: Request, exc: DBAPIError) -> Response:
    # Log the class only: statements and parameters can hold patient data.
    log.error("database error %s on %s %s", type(exc.orig).__name__, request.method, request.url.path)
    return _respond(
        request, 503, error_body("database_unavailable", "The database could not complete this request; try again")
    )


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return _respond(request, 500, error_body("internal_error", "Something went wrong on our side"))


def install(app: FastAPI) -> None:
    # The decorator form: add_exception_handler's type wants handlers of any Exception, and
    # each of these takes only the class it is registered for.
    app.exception_handler(RequestValidationError)(on_validation_error)
    app.exception_handler(DomainError)(on_domain_error)
    app.exception_handler(StarletteHTTPException)(on_http_error)
    app.exception_handler(IntegrityError)(on_integrity_error)
    app.exception_handler(StaleDataError)(on_stale_data)
    app.exception_handler(DBAPIError)(on_db_error)
    app.add_exception_handler(Exception, on_unexpected)
