"""Domain errors. Services raise these; the web layer turns them into responses."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.detail = detail


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class StaleVersion(Conflict):
    """Someone else changed the record since the client read it.

    `detail` carries the current state so the client can show it and reapply.
    """

    code = "stale_version"


class PreconditionRequired(DomainError):
    status_code = 428
    code = "version_required"


class RuleViolation(DomainError):
    """Input that is well-formed but breaks a clinical or data rule (422, tied to a field)."""

    status_code = 422
    code = "rule_violation"
